import { defineConfig } from 'drizzle-kit';

// drizzle-kit reads the schema in code and writes SQL migrations that the server applies at start.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/db/schema/index.ts',
  out: './migrations',
  casing: 'snake_case',
});
