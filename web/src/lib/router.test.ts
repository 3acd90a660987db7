import { describe, expect, it } from 'vitest'
import { parseHash } from './router'

describe('parseHash', () => {
  it.each([
    ['', { page: 'overview' }],
    ['#/', { page: 'overview' }],
    ['#/agents', { page: 'agents' }],
    ['#/agents/0xABC', { page: 'agent', address: '0xABC' }],
    ['#/datasets', { page: 'datasets' }],
    ['#/datasets/0x01', { page: 'dataset', infoHash: '0x01' }],
    ['#/chain', { page: 'chain' }],
    ['#/feed', { page: 'feed' }],
    ['#/nope', { page: 'notfound', path: '/nope' }],
  ])('%s', (hash, want) => {
    expect(parseHash(hash)).toEqual(want)
  })
})
