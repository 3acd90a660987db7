package swarm

import "github.com/redis/go-redis/v9"

// The Redis store's scripts. Every write to a swarm is one script, so it is
// atomic as the memory store's shard lock makes it: no other announce,
// lookup or collection sees half of it.
//
// Keys (P is RedisConfig.Prefix, <ih> the info hash in hex):
//
//	P s:<ih>:h  HASH  "p"+peer id -> peer record (layout at recTag in redis.go)
//	                  "a"+compact announcing endpoint -> peer id (PeerByAddr)
//	                  "g"+agent -> peers the agent has in the swarm (HasAgent)
//	                  "o"+agent -> the agent's peer ids there, 20 bytes each,
//	                  in the order they joined (Update.MaxPerAgent; an id
//	                  whose peer is gone is dropped when the list is read)
//	                  "c" -> completed downloads
//	                  "e" -> when the swarm's TTLs were last renewed
//	P s:<ih>:S  SET   seeders' peer ids
//	P s:<ih>:L  SET   leechers' peer ids
//	P s:<ih>:T  ZSET  peer id by last-seen unix second (expiry)
//	P idx       HASH  info hash -> "seeders leechers" as last written, and the
//	                  totals "#S", "#L" (Stats; a swarm whose keys vanished by
//	                  TTL is subtracted from the totals with these figures)
//	P due       ZSET  info hash by a lower bound of its oldest peer's
//	                  last-seen second: the swarms Collect must visit (a
//	                  swarm with only its completed counter left scores the
//	                  collection's cutoff + TTL)
//	P a:<agent> HASH  info hash + peer id tail -> left, for each leeching
//	                  peer (the leeching index, AgentLeft)
//
// Every key carries the TTL, renewed when a key may have been created and
// otherwise at most every TTL/4 per swarm, so the keys of an abandoned
// swarm (or agent) vanish on their own within the TTL of its last
// announce. The agent keys are built inside the scripts, so the store
// wants one Redis (or a primary with replicas), not a cluster. ZADD LT
// needs Redis 6.2 or later.

// luaCommon is shared by the writing scripts.
const luaCommon = `
local function hex(s)
  return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end))
end

-- unlist removes the peer id from the list "o"+agent of the agent's peers.
local function unlist(H, agent, id)
  local f = 'o' .. agent
  local mine = redis.call('HGET', H, f)
  if not mine then return end
  for k = 1, #mine - 19, 20 do
    if string.sub(mine, k, k + 19) == id then
      mine = string.sub(mine, 1, k - 1) .. string.sub(mine, k + 20)
      if mine == '' then
        redis.call('HDEL', H, f)
      else
        redis.call('HSET', H, f, mine)
      end
      return
    end
  end
end

-- removePeer deletes the peer id (its record rec) from the swarm and from
-- the leeching index AK of its agent; listed false leaves the agent's list
-- of peers to the caller.
local function removePeer(H, S, L, T, ih, AK, id, rec, listed)
  local agent = string.sub(rec, 1, 20)
  local akey = string.sub(rec, 87)
  if listed then unlist(H, agent, id) end
  redis.call('HDEL', H, 'p' .. id)
  if akey ~= '' and redis.call('HGET', H, 'a' .. akey) == id then
    redis.call('HDEL', H, 'a' .. akey)
  end
  if redis.call('HINCRBY', H, 'g' .. agent, -1) <= 0 then
    redis.call('HDEL', H, 'g' .. agent)
  end
  redis.call('SREM', S, id)
  redis.call('SREM', L, id)
  redis.call('ZREM', T, id)
  redis.call('HDEL', AK, ih .. string.sub(id, 13, 20))
end

-- syncIndex writes the swarm's counts s, l to the index and the difference
-- to what the index held (which is what the swarm had unless its keys
-- vanished by TTL) to the totals; a swarm with neither peers nor completed
-- downloads leaves the index and its keys are deleted.
local function syncIndex(H, S, L, T, IDX, DUE, ih, s, l, c)
  local s0, l0 = 0, 0
  local old = redis.call('HGET', IDX, ih)
  if old then
    local sp = string.find(old, ' ', 1, true)
    s0, l0 = tonumber(string.sub(old, 1, sp - 1)), tonumber(string.sub(old, sp + 1))
  end
  if s ~= s0 then redis.call('HINCRBY', IDX, '#S', s - s0) end
  if l ~= l0 then redis.call('HINCRBY', IDX, '#L', l - l0) end
  if s + l == 0 and c == 0 then
    redis.call('HDEL', IDX, ih)
    redis.call('ZREM', DUE, ih)
    redis.call('DEL', H, S, L, T)
    return false
  end
  redis.call('HSET', IDX, ih, s .. ' ' .. l)
  return true
end

-- pack reads the records of the peer ids and returns them as one string:
-- per peer its id, the record's length (one byte) and the record.
local function pack(H, ids)
  if #ids == 0 then return '' end
  local fields = {}
  for i, m in ipairs(ids) do fields[i] = 'p' .. m end
  local recs = redis.call('HMGET', H, unpack(fields))
  local parts = {}
  for i, m in ipairs(ids) do
    local r = recs[i]
    if r then parts[#parts + 1] = m .. string.char(#r) .. r end
  end
  return table.concat(parts)
end

-- refresh gives the swarm's keys and the global ones the TTL again and
-- notes when (field "e", in the announcers' clock). The global keys are
-- renewed with every swarm's, so they outlive every swarm's keys.
local function refresh(H, S, L, T, IDX, DUE, now, ttl)
  redis.call('HSET', H, 'e', now)
  for _, k in ipairs({H, S, L, T, IDX, DUE}) do redis.call('EXPIRE', k, ttl) end
end
`

// luaAnnounce applies one Update (swarm.Memory.Announce's rules) and picks
// the peers handed out. It writes the index only when the swarm's counts
// change and renews the TTLs then and otherwise once per TTL/4 of the
// swarm, so that a re-announce costs a dozen commands.
//
// KEYS: h, S, L, T, idx, due.
// ARGV: 1 peer id, 2 verified "1"/"0", 3 agent, 4 tag (8 bytes), 5 verified
// stamp (4 bytes), 6 record body (the reported fields), 7 compact announcing
// endpoint (may be empty), 8 left is 0 "1"/"0", 9 left (decimal), 10 event
// (bt.Event), 11 numwant, 12 info hash, 13 agent key prefix, 14 now (unix
// seconds), 15 TTL seconds, 16 the agent's leeching index key when
// verified ("": derived from the stored record), 17 the most peers one agent
// may hold in the swarm (Update.MaxPerAgent; 0: no bound).
//
// Returns {status, created, completed, removed, seeders, leechers,
// completed count, replaced, the picked peers packed (see pack)}; status 0
// ok, -1 stale, -2 peer id taken.
var luaAnnounce = redis.NewScript(luaCommon + `
local H, S, L, T, IDX, DUE = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, verified, agent, tag, vstamp = ARGV[1], ARGV[2] == '1', ARGV[3], ARGV[4], ARGV[5]
local body, akey, leftZero, left = ARGV[6], ARGV[7], ARGV[8] == '1', ARGV[9]
local event, want, ih, apfx = tonumber(ARGV[10]), tonumber(ARGV[11]), ARGV[12], ARGV[13]
local now, ttl, AK, limit = tonumber(ARGV[14]), tonumber(ARGV[15]), ARGV[16], tonumber(ARGV[17])
local STOPPED, COMPLETED = 2, 3
local ZERO8 = '\0\0\0\0\0\0\0\0'
local tail = string.sub(id, 13, 20)
local function agentKey(a)
  if AK == '' then AK = apfx .. hex(a) end
  return AK
end

local rec = redis.call('HGET', H, 'p' .. id)
local created, completed, moved, owner, replaced = 0, 0, false, agent, 0
local fresh = {} -- keys this announce may have created
if not rec then
  if not verified then return {-1} end
  if event == STOPPED then
    local c = tonumber(redis.call('HGET', H, 'c') or '0')
    return {0, 0, 0, 0, redis.call('SCARD', S), redis.call('SCARD', L), c}
  end
  -- the agent's peers here, in the order they joined: at the bound, its
  -- oldest ones (last seen longest ago; of equals, the first to join) make
  -- room for this one
  local mine = redis.call('HGET', H, 'o' .. agent) or ''
  if limit > 0 and #mine >= 20 * limit then
    local ids = {}
    for k = 1, #mine - 19, 20 do ids[#ids + 1] = string.sub(mine, k, k + 19) end
    local seen = redis.call('ZMSCORE', T, unpack(ids))
    local live, dup = {}, {}
    for k, m in ipairs(ids) do
      if seen[k] and not dup[m] then live[#live + 1] = {m, tonumber(seen[k])} end
      dup[m] = true
    end
    while #live >= limit do
      local o = 1
      for k = 2, #live do
        if live[k][2] < live[o][2] then o = k end
      end
      local m = live[o][1]
      local orec = redis.call('HGET', H, 'p' .. m)
      if orec then removePeer(H, S, L, T, ih, agentKey(agent), m, orec, false) end
      table.remove(live, o)
      replaced = replaced + 1
    end
    mine = ''
    for _, e in ipairs(live) do mine = mine .. e[1] end
  end
  redis.call('HSET', H, 'o' .. agent, mine .. id)
  local counted = '\0'
  if event == COMPLETED and leftZero then
    counted = '\1'
    redis.call('HINCRBY', H, 'c', 1)
    completed = 1
  end
  if akey ~= '' then
    redis.call('HSET', H, 'p' .. id, agent .. tag .. vstamp .. counted .. body .. akey, 'a' .. akey, id)
  else
    redis.call('HSET', H, 'p' .. id, agent .. tag .. vstamp .. counted .. body)
  end
  redis.call('HINCRBY', H, 'g' .. agent, 1)
  if leftZero then
    redis.call('SADD', S, id)
    redis.call('HDEL', agentKey(agent), ih .. tail)
    fresh = {S, T}
  else
    redis.call('SADD', L, id)
    redis.call('HSET', agentKey(agent), ih .. tail, left)
    redis.call('EXPIRE', AK, ttl)
    fresh = {L, T}
  end
  created, moved = 1, true
else
  local ragent = string.sub(rec, 1, 20)
  owner = ragent
  local header
  if verified then
    if ragent ~= agent then return {-2} end
    header = agent .. tag .. vstamp
  else
    if string.sub(rec, 21, 28) ~= tag then return {-1} end
    header = string.sub(rec, 1, 32)
  end
  local oldLeft = string.sub(rec, 75, 82)
  local wasSeeder = oldLeft == ZERO8
  local counted = string.sub(rec, 33, 33) == '\1'
  if leftZero and not counted and (not wasSeeder or event == COMPLETED) then
    counted = true
    redis.call('HINCRBY', H, 'c', 1)
    completed = 1
  elseif not leftZero then
    counted = false -- downloading (again)
  end
  if event == STOPPED then
    removePeer(H, S, L, T, ih, agentKey(ragent), id, rec, true)
    local s, l = redis.call('SCARD', S), redis.call('SCARD', L)
    local c = tonumber(redis.call('HGET', H, 'c') or '0')
    syncIndex(H, S, L, T, IDX, DUE, ih, s, l, c)
    return {0, 0, completed, 1, s, l, c}
  end
  local cb = '\0'
  if counted then cb = '\1' end
  redis.call('HSET', H, 'p' .. id, header .. cb .. body .. akey)
  local oldA = string.sub(rec, 87)
  if oldA ~= akey then
    if oldA ~= '' and redis.call('HGET', H, 'a' .. oldA) == id then
      redis.call('HDEL', H, 'a' .. oldA)
    end
    if akey ~= '' then redis.call('HSET', H, 'a' .. akey, id) end
  end
  if leftZero then
    if not wasSeeder then redis.call('HDEL', agentKey(ragent), ih .. tail) end
  elseif oldLeft ~= string.sub(body, 42, 49) then
    redis.call('HSET', agentKey(ragent), ih .. tail, left)
    redis.call('EXPIRE', AK, ttl)
  end
  if wasSeeder and not leftZero then
    redis.call('SMOVE', S, L, id)
    moved, fresh = true, {L}
  elseif not wasSeeder and leftZero then
    redis.call('SMOVE', L, S, id)
    moved, fresh = true, {S}
  end
end
redis.call('ZADD', T, now, id)
local s, l = redis.call('SCARD', S), redis.call('SCARD', L)
local ce = redis.call('HMGET', H, 'c', 'e')
local c = tonumber(ce[1] or '0')
if moved then syncIndex(H, S, L, T, IDX, DUE, ih, s, l, c) end
-- the due score is a lower bound of the oldest peer's last-seen second:
-- Collect visits the swarm when it passes the cutoff and sets it exactly
if created == 1 then redis.call('ZADD', DUE, 'LT', now, ih) end
local e = tonumber(ce[2] or '-1')
if e < 0 or now < e or now - e >= math.max(1, math.floor(ttl / 4)) then
  refresh(H, S, L, T, IDX, DUE, now, ttl)
  if not leftZero then redis.call('EXPIRE', agentKey(owner), ttl) end
else
  for _, k in ipairs(fresh) do redis.call('EXPIRE', k, ttl) end
end
local out = {0, created, completed, 0, s, l, c, replaced}

-- up to n peers of set K other than the announcer
local picked = {}
local function take(K, n)
  if n <= 0 then return 0 end
  local got = 0
  for _, m in ipairs(redis.call('SRANDMEMBER', K, n + 1)) do
    if got >= n then break end
    if m ~= id then
      picked[#picked + 1] = m
      got = got + 1
    end
  end
  return got
end
if want > 0 then
  if leftZero then
    take(L, want)
  else
    take(L, want - take(S, want))
  end
end
out[9] = pack(H, picked)
return out
`)

// luaCollect removes up to ARGV[4] peers of one swarm last seen before
// ARGV[1], brings the swarm's index entry up to date (also for a swarm
// whose keys vanished by TTL) and sets its due score exactly. It renews no
// TTL: a swarm left with only its completed counter vanishes in time.
//
// KEYS: h, S, L, T, idx, due. ARGV: 1 cutoff, 2 info hash, 3 agent key
// prefix, 4 batch, 5 TTL seconds. Returns {removed, more}.
var luaCollect = redis.NewScript(luaCommon + `
local H, S, L, T, IDX, DUE = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local cutoff, ih, apfx, batch, ttl = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local ids = redis.call('ZRANGEBYSCORE', T, '-inf', '(' .. cutoff, 'LIMIT', 0, batch)
local n = 0
for _, id in ipairs(ids) do
  local rec = redis.call('HGET', H, 'p' .. id)
  if rec then
    removePeer(H, S, L, T, ih, apfx .. hex(string.sub(rec, 1, 20)), id, rec, true)
    n = n + 1
  else
    redis.call('ZREM', T, id)
    redis.call('SREM', S, id)
    redis.call('SREM', L, id)
  end
end
local s, l = redis.call('SCARD', S), redis.call('SCARD', L)
local c = tonumber(redis.call('HGET', H, 'c') or '0')
if syncIndex(H, S, L, T, IDX, DUE, ih, s, l, c) then
  local due = cutoff + ttl -- only the completed counter is left
  if s + l > 0 then
    due = redis.call('ZRANGE', T, 0, 0, 'WITHSCORES')[2]
  end
  redis.call('ZADD', DUE, due, ih)
end
local more = 0
if #ids == batch then more = 1 end
return {n, more}
`)

// luaPeers lists up to ARGV[1] peers, seeders first, packed.
// KEYS: h, S, L.
var luaPeers = redis.NewScript(luaCommon + `
local H, S, L, limit = KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1])
local ids = {}
for _, m in ipairs(redis.call('SRANDMEMBER', S, limit)) do ids[#ids + 1] = m end
if #ids < limit then
  for _, m in ipairs(redis.call('SRANDMEMBER', L, limit - #ids)) do ids[#ids + 1] = m end
end
return pack(H, ids)
`)

// luaPeerByAddr finds the peer that announced from the compact endpoint
// ARGV[1]: {id, record}, or an empty list. KEYS: h.
var luaPeerByAddr = redis.NewScript(`
local id = redis.call('HGET', KEYS[1], 'a' .. ARGV[1])
if not id then return {} end
local rec = redis.call('HGET', KEYS[1], 'p' .. id)
if not rec then return {} end
return {id, rec}
`)
