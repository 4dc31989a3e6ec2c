// ESLint flat config: typescript-eslint's recommended rules for the TypeScript sources, eslint's recommended rules
// for the plain JavaScript (bench, bins, deploy helpers), Prettier owning layout (printWidth 120), and a 120-column
// limit for what Prettier does not wrap, with no exemptions: comments, strings, template literals, URLs and regular
// expressions too. A long string is split into concatenated pieces (its value unchanged), a long test title shortened.
// `any` is allowed where values come from validated JSON (route handlers read schema-checked bodies and queries).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import stylistic from '@stylistic/eslint-plugin';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'bench/results/**', '.ci/node/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { '@stylistic': stylistic },
    rules: {
      '@stylistic/max-len': ['error', { code: 120 }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
);
