import { Injectable } from '@nestjs/common';

export interface ChatMessage {
  readonly body: string;
  readonly user: string;
  readonly at: number;
}

/** Keeps the last messages of each room, so a newcomer sees some history in the join reply. */
@Injectable()
export class ChatService {
  private readonly rooms = new Map<string, ChatMessage[]>();

  record(room: string, message: ChatMessage): void {
    const list = this.rooms.get(room) ?? [];
    list.push(message);
    if (list.length > 20) list.shift();
    this.rooms.set(room, list);
  }

  recent(room: string): ChatMessage[] {
    return [...(this.rooms.get(room) ?? [])];
  }
}
