import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { layoutsJsonSchema } from "../src/schema.js";

const out = join(import.meta.dirname, "..", "schema", "layouts.schema.json");
writeFileSync(out, `${JSON.stringify(layoutsJsonSchema(), null, 2)}\n`);
console.log(`wrote ${out}`);
