// ESLint flat config: typescript-eslint's recommended rules for the TypeScript sources, eslint's recommended rules
// for the plain JavaScript (bench, bins, deploy helpers), Prettier owning layout (printWidth 120), and a 120-column
// limit for what Prettier does not wrap: comments and code. A line that is long only because of one string or
// template literal (a test title, an error message, a report line) is left whole rather than cut into pieces.
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
      '@stylistic/max-len': [
        'error',
        { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true, ignoreStrings: true, ignoreTemplateLiterals: true },
      ],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
);
