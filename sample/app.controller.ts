import { Controller, Get, Header, StreamableFile } from '@nestjs/common';
import { createReadStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The page lives in sample/public, next to the sources (the build does not copy it). */
const publicDir = join(here, '..', '..', 'sample', 'public');
/**
 * The `phoenix` client's browser build: the very file the package exports for
 * `import`, found the way Node finds it, so no path inside the package is assumed.
 */
const phoenixClient = fileURLToPath(import.meta.resolve('phoenix'));
/** `nestjs-channels/client` as built with the sample (an app would import it from the package). */
const historyClient = join(here, '..', 'lib', 'client', 'index.js');

const JS = 'text/javascript; charset=utf-8';

function file(path: string): StreamableFile {
  return new StreamableFile(createReadStream(path));
}

/** Serves the chat page, its script and style, the `phoenix` client and the history helper. */
@Controller()
export class AppController {
  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  page(): StreamableFile {
    return file(join(publicDir, 'index.html'));
  }

  @Get('app.js')
  @Header('content-type', JS)
  script(): StreamableFile {
    return file(join(publicDir, 'app.js'));
  }

  @Get('app.css')
  @Header('content-type', 'text/css; charset=utf-8')
  style(): StreamableFile {
    return file(join(publicDir, 'app.css'));
  }

  @Get('favicon.svg')
  @Header('content-type', 'image/svg+xml')
  icon(): StreamableFile {
    return file(join(publicDir, 'favicon.svg'));
  }

  @Get('phoenix.mjs')
  @Header('content-type', JS)
  client(): StreamableFile {
    return file(phoenixClient);
  }

  @Get('history.js')
  @Header('content-type', JS)
  history(): StreamableFile {
    return file(historyClient);
  }

  /** The client's source map, beside it in the package; only browser dev tools ask for it. */
  @Get('phoenix.mjs.map')
  @Header('content-type', 'application/json; charset=utf-8')
  clientMap(): StreamableFile {
    return file(`${phoenixClient}.map`);
  }
}
