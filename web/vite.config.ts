/// <reference types="vitest/config" />
import tailwindcss from '@tailwindcss/vite'
import react from '@vitejs/plugin-react'
import { defineConfig, loadEnv } from 'vite'

// The gateway serves the build at /, so the API is the page's own origin.
// `npm run dev` proxies the API to VITE_API (default: make up's gateway).
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), '')
  const api = env.VITE_API || 'http://127.0.0.1:8080'
  return {
    base: '/',
    plugins: [react(), tailwindcss()],
    server: {
      proxy: {
        '/v1': { target: api, changeOrigin: true },
        '/openapi.json': { target: api, changeOrigin: true },
      },
    },
    preview: {
      proxy: {
        '/v1': { target: api, changeOrigin: true },
        '/openapi.json': { target: api, changeOrigin: true },
      },
    },
    build: {
      outDir: 'dist',
      emptyOutDir: true,
      sourcemap: false,
    },
    test: {
      environment: 'jsdom',
      include: ['src/**/*.test.{ts,tsx}'],
      setupFiles: ['src/test/setup.ts'],
      restoreMocks: true,
    },
  }
})
