// Writes the JSON Schema of every --json output to apps/cli/schema (a test checks they are current).
import { writeFileSync } from "node:fs";
import { OUTPUT_SCHEMAS, outputJsonSchema } from "../src/output-schemas.js";

for (const name of Object.keys(OUTPUT_SCHEMAS) as (keyof typeof OUTPUT_SCHEMAS)[]) {
  const file = new URL(`../schema/${name}.schema.json`, import.meta.url);
  writeFileSync(file, `${JSON.stringify(outputJsonSchema(name), null, 2)}\n`);
}
