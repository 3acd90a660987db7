import { cleanup } from '@testing-library/react'
import { afterEach, beforeEach } from 'vitest'

// React warnings (keys, act, DOM nesting) and our own errors fail the test.
let logged: string[] = []
const original = { error: console.error, warn: console.warn }

beforeEach(() => {
  logged = []
  console.error = (...args: unknown[]) => {
    logged.push(args.map(String).join(' '))
  }
  console.warn = (...args: unknown[]) => {
    logged.push(args.map(String).join(' '))
  }
})

afterEach(() => {
  cleanup()
  console.error = original.error
  console.warn = original.warn
  if (logged.length) throw new Error(`console output during the test:\n${logged.join('\n')}`)
})
