// Entry of the schema generator (scripts/gen-schema.mjs): kept out of the CLI's bundles.
export { jsonSchema } from './schema.js';
