/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { antdStylesPlugin } from './build-tools/antd-styles';

/* RAMPART_MANAGER (e.g. http://127.0.0.1:6701) is where `npm run dev` sends /api and /metrics. */
const manager = process.env.RAMPART_MANAGER ?? 'http://127.0.0.1:6701';

export default defineConfig({
  plugins: [antdStylesPlugin()],
  esbuild: { jsx: 'automatic' },
  build: {
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
    /* No inline <script> or data: modules: the manager's CSP is default-src 'self'. */
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: {
      /* Libraries' "use client" lines mean nothing in a browser bundle. */
      onwarn(w, warn) {
        if (w.code !== 'MODULE_LEVEL_DIRECTIVE') warn(w);
      },
      output: {
        manualChunks(id) {
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender'))
            return 'echarts';
          return undefined;
        },
      },
    },
  },
  server: {
    proxy: { '/api': manager, '/metrics': manager, '/health': manager },
  },
  test: {
    include: ['src/**/*.test.ts', 'build-tools/**/*.test.ts'],
    environment: 'node',
  },
});
