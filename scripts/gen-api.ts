import { readFileSync, writeFileSync } from 'node:fs'
import { relative } from 'node:path'
import { generatedApiFiles } from './api-docs.ts'

// npm run gen:api — regenerates docs/openapi.json and docs/api.md's route table from the
// route declarations in packages/protocol/src/api/.
for (const file of generatedApiFiles()) {
  const before = readFileSync(file.path, 'utf8').toString()
  if (before === file.text) continue
  writeFileSync(file.path, file.text)
  console.log(`wrote ${relative(process.cwd(), file.path)}`)
}
