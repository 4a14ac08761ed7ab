// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Modules the sans-IO core must never import: I/O, platforms and the network stack. */
const forbiddenInCore = [
  { group: ['node:*'], message: 'core/pbft, core/app, core/sim and core/byzantine are sans-IO: no Node modules.' },
  {
    group: [
      'fs',
      'fs/*',
      'path',
      'os',
      'net',
      'http',
      'https',
      'crypto',
      'child_process',
      'worker_threads',
      'events',
      'timers',
      'timers/*',
      'stream',
      'util',
      'dgram',
      'tls',
      'zlib',
    ],
    message: 'core/pbft, core/app, core/sim and core/byzantine are sans-IO: no Node modules.',
  },
  { group: ['electron', 'electron/*'], message: 'No Electron in the core.' },
  {
    group: ['libp2p', '@libp2p/*', '@chainsafe/*', '@multiformats/*', 'it-*'],
    message: 'No libp2p in the core: core/net drives it.',
  },
  { group: ['vue', 'pinia', '@vue/*'], message: 'No UI in the core.' },
  { group: ['**/net/*', '**/host/*', '**/cli/*'], message: 'The core must not depend on its hosts.' },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'dist/**', 'release/**', '.cache/**', 'docs/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Plain-JavaScript entry points run by Node.
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    files: ['core/pbft/**/*.ts', 'core/app/**/*.ts', 'core/sim/**/*.ts', 'core/byzantine/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: forbiddenInCore }],
      'no-restricted-globals': [
        'error',
        ...[
          'Date',
          'setTimeout',
          'setInterval',
          'setImmediate',
          'queueMicrotask',
          'process',
          'performance',
          'crypto',
          'window',
          'document',
          'fetch',
          'Buffer',
          'require',
        ].map((name) => ({
          name,
          message: `${name} is I/O or ambient state: the sans-IO core takes time, randomness and crypto as inputs.`,
        })),
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use the injected, seeded random source.' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'FunctionDeclaration[async=true], ArrowFunctionExpression[async=true], FunctionExpression[async=true]',
          message: 'No promises in the sans-IO core.',
        },
        { selector: 'AwaitExpression', message: 'No promises in the sans-IO core.' },
      ],
    },
  },
);
