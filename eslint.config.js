// npm run lint: typescript-eslint's recommended type-checked rules over the library, the viewer,
// the tests and the scripts (.ci/run runs it; an error fails the run).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'viewer/dist/', 'node_modules/', 'models/', 'fixtures/', 'demo-output/', 'out/', '.cache/', '**/*.mjs', '**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // The type-checking programs of npm run typecheck: src + test + scripts, and the viewer.
        project: ['./tsconfig.check.json', './viewer/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A leading underscore marks what is deliberately unused (destructured away, a required parameter).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // fastify plugins and handlers, decoders and denoisers implement async interfaces whether or not
      // they await; the type-checked promise rules (no-floating-promises, no-misused-promises) stay on.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests and scripts read the CLI's JSON output and JSON files as they come; typing every such
    // read is churn without a safety gain there. The library and the viewer keep these rules.
    files: ['test/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // `(await response.json()) as T` reads better in a test than `response.json<T>()`.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
);
