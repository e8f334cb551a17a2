// Lint: TypeScript strictness plus the layer rules of DESIGN.md, enforced rather than hoped for:
// gateway -> resolvers -> schema/adapters; materializers -> schema/adapters; adapters know no GraphQL.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const layer = (target, from, message) => ({ target, from, message });

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.cache/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            layer('./schema', ['./adapters', './resolvers', './materializers', './gateway'], 'schema/ is the base layer: it imports no other layer'),
            layer('./adapters', ['./resolvers', './materializers', './gateway'], 'adapters/ know only schema/'),
            layer('./resolvers', ['./materializers', './gateway'], 'resolvers/ sit below the gateway and beside materializers'),
            layer('./materializers', ['./resolvers', './gateway'], 'materializers/ know schema/ and adapters/ only'),
          ],
        },
      ],
      'no-restricted-imports': ['error', { patterns: [{ group: ['graphql', '@apollo/*'], message: 'only resolvers/ and gateway/ speak GraphQL' }] }],
    },
  },
  {
    files: ['resolvers/**/*.ts', 'gateway/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
