/**
 * Builds the gateway's GraphiQL bundle (gateway/graphiql/dist/), which
 * `postinstall` runs so that `npm start` serves GraphiQL with no internet.
 * Reuses the bundle when nothing it is made of has changed; `--force` rebuilds.
 */
import { buildGraphiQLBundle, ensureGraphiQLBundle } from '@storefront/gateway/graphiql';

const started = performance.now();
const bundle = process.argv.includes('--force') ? await buildGraphiQLBundle() : await ensureGraphiQLBundle();
console.log(`GraphiQL bundle ready in ${bundle.dir} (${Math.round(performance.now() - started)} ms)`);
