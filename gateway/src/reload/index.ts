export { fetchDocument, watchFile, watchUrl, type UrlDocument, type Watcher, type WatchOptions } from './watch.ts';
