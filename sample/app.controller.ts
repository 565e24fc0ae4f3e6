import { Controller, Get, Header, StreamableFile } from '@nestjs/common';
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
/** The page lives in sample/public, next to the sources (the build does not copy it). */
const publicDir = join(here, '..', '..', 'sample', 'public');

/** Serves the chat page and the `phoenix` browser client. */
@Controller()
export class AppController {
  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  page(): StreamableFile {
    return new StreamableFile(createReadStream(join(publicDir, 'index.html')));
  }

  @Get('phoenix.mjs')
  @Header('content-type', 'text/javascript; charset=utf-8')
  client(): StreamableFile {
    const entry = join(dirname(require.resolve('phoenix/package.json')), 'priv', 'static', 'phoenix.mjs');
    return new StreamableFile(createReadStream(entry));
  }
}
