// Writes schema/sess.schema.json from the zod schema (run after `npm run build`).
import { writeFileSync } from 'node:fs';
import { jsonSchema } from '../dist/jsonSchema.js';

writeFileSync(new URL('../schema/sess.schema.json', import.meta.url), JSON.stringify(jsonSchema(), null, 2) + '\n');
