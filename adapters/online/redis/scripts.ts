// The online store's update rules as Lua, so that each key's update is one atomic step (and so holds
// on Redis Cluster, where one script call only ever holds keys of one slot). They mirror ../merge.ts,
// which the memory store runs; the conformance suite holds both to the same outcomes.

/**
 * A value write, by the rule of ../merge.ts applyValueWrite. KEYS[1] the key; ARGV: eventTime,
 * availableTime (both as JSON numbers), the values as JSON text ('' for a delete), retention ms.
 * Stored as JSON, eventTime first so that it is compared without decoding:
 *   {"eventTime":E,"availableTime":A,"version":V,"values":{...}}   or   {...,"version":V,"deleted":true}
 * Returns {1, version} applied, {2, version, availableTime} unchanged, {0} superseded. A value written
 * before versions existed counts its availableTime as its version.
 */
export const writeValueScript = `
local e, a, values = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local current = redis.call('GET', KEYS[1])
local version = a
if current then
  local se = tonumber(string.match(current, '^{"eventTime":(%-?[%d%.eE%+%-]+)'))
  if se > e then return {0} end
  -- The first ',"values":' is the top-level one: only numbers come before it.
  local at = string.find(current, ',"values":', 1, true)
  local head = at and string.sub(current, 1, at) or current
  local sa = tonumber(string.match(head, '"availableTime":(%-?[%d%.eE%+%-]+)'))
  local sv = tonumber(string.match(head, '"version":(%-?[%d%.eE%+%-]+)')) or sa
  local same
  if at == nil then
    same = values == ''
  else
    same = values ~= '' and se == e and string.sub(current, at + 10, -2) == values
  end
  if same then return {2, sv, sa} end
  if sv + 1 > version then version = sv + 1 end
end
local v = string.format('%.0f', version)
local packed
if values == '' then
  packed = '{"eventTime":' .. ARGV[1] .. ',"availableTime":' .. ARGV[2] .. ',"version":' .. v .. ',"deleted":true}'
else
  packed = '{"eventTime":' .. ARGV[1] .. ',"availableTime":' .. ARGV[2] .. ',"version":' .. v .. ',"values":' .. values .. '}'
end
redis.call('SET', KEYS[1], packed, 'PX', ARGV[4])
return {1, version}
`;

/**
 * Tile writes, one per key: KEYS[i] is write i's key (a call holds keys of one slot on Cluster, so each
 * key's update stays one atomic step there too). ARGV[1] is one MessagePack array of the writes in
 * KEYS order, positionally (packed.ts PackWriter: numbers exact, decoded in C), each as:
 *   n (args of this write after this one), retentionMs, eventTime, availableTime,
 *   partition ('' for none), fromOffset, toOffset, k, (feature, first tile kept) x k, g, groups x g
 * where a group is feature, op, c, then c cells: add/min/max `tile value`, avg `tile sum count`,
 * last/distinct `tile json`. Returns one code per write: 1 applied, 2 duplicate, 3 overlap.
 * Values are stored as MessagePack (see packed.ts); a value still in JSON is converted on its next write.
 */
export const applyTilesScript = `
local function load(raw)
  if string.byte(raw, 1) ~= 123 then return cmsgpack.unpack(raw) end
  local old = cjson.decode(raw)
  local offsets, tiles = {}, {}
  if type(old.offsets) == 'table' then for p, o in pairs(old.offsets) do offsets[p] = o end end
  if type(old.tiles) == 'table' then
    for feature, cells in pairs(old.tiles) do
      local t = {}
      for k, v in pairs(cells) do t[tonumber(k)] = v end
      tiles[feature] = t
    end
  end
  return { 2, old.eventTime, old.availableTime, offsets, tiles }
end

local w = cmsgpack.unpack(ARGV[1])
local results = {}
local a = 1
for i = 1, #KEYS do
  local nextWrite = a + 1 + w[a]
  local eventTime, availableTime = w[a + 2], w[a + 3]
  local partition, from, to = w[a + 4], w[a + 5], w[a + 6]
  local current = redis.call('GET', KEYS[i])
  local state
  if current then state = load(current) else state = { 2, eventTime, availableTime, {}, {} } end
  local offsets, tiles = state[4], state[5]
  local outcome = 1
  if partition ~= '' then
    local last = offsets[partition]
    if last ~= nil then
      if to <= last then outcome = 2 elseif from <= last then outcome = 3 end
    end
  end
  if outcome == 1 then
    if partition ~= '' then offsets[partition] = to end
    local keepAt = a + 8
    local b = keepAt + 2 * w[a + 7]
    local groups = w[b]
    b = b + 1
    for _ = 1, groups do
      local feature, op, cells = w[b], w[b + 1], w[b + 2]
      b = b + 3
      local ft = tiles[feature]
      if ft == nil then ft = {}; tiles[feature] = ft end
      if op == 'add' then
        for _ = 1, cells do
          local tile, v = w[b], w[b + 1]
          b = b + 2
          local old = ft[tile]
          if old == nil then ft[tile] = v else ft[tile] = old + v end
        end
      elseif op == 'min' or op == 'max' then
        local pick = op == 'min' and math.min or math.max
        for _ = 1, cells do
          local tile, v = w[b], w[b + 1]
          b = b + 2
          local old = ft[tile]
          if old == nil then ft[tile] = v else ft[tile] = pick(old, v) end
        end
      elseif op == 'avg' then
        for _ = 1, cells do
          local tile, s, n = w[b], w[b + 1], w[b + 2]
          b = b + 3
          local old = ft[tile]
          if old == nil then ft[tile] = { s, n } else ft[tile] = { old[1] + s, old[2] + n } end
        end
      elseif op == 'last' then
        for _ = 1, cells do
          local tile, new = w[b], cjson.decode(w[b + 1])
          b = b + 2
          local old = ft[tile]
          if old == nil or new[1] > old[1] or (new[1] == old[1] and (new[3] or '') >= (old[3] or '')) then ft[tile] = new end
        end
      elseif op == 'distinct' then
        for _ = 1, cells do
          local tile, new = w[b], cjson.decode(w[b + 1])
          b = b + 2
          local old = ft[tile]
          if old == nil then
            ft[tile] = new
          else
            local seen, merged = {}, {}
            for _, v in ipairs(old) do if not seen[v] then seen[v] = true; merged[#merged + 1] = v end end
            for _, v in ipairs(new) do if not seen[v] then seen[v] = true; merged[#merged + 1] = v end end
            table.sort(merged)
            ft[tile] = merged
          end
        end
      else
        return redis.error_reply('unknown cell op ' .. tostring(op))
      end
    end
    for k = keepAt, keepAt + 2 * w[a + 7] - 1, 2 do
      local ft = tiles[w[k]]
      if ft ~= nil then
        local first = w[k + 1]
        for tile in pairs(ft) do
          if tile < first then ft[tile] = nil end
        end
      end
    end
    if eventTime > state[2] then state[2] = eventTime end
    state[3] = availableTime
    redis.call('SET', KEYS[i], cmsgpack.pack(state), 'PX', w[a + 1])
  end
  results[i] = outcome
  a = nextWrite
end
return results
`;

/**
 * Records an incarnation of a stream partition (OnlineStore.registerIncarnation). KEYS[1] the
 * partition's list of incarnations, in the order first recorded; ARGV[1] the incarnation. Returns
 * {generation, 1 if added else 0, the incarnation of the generation before or ''}.
 */
export const registerIncarnationScript = `
local known = redis.call('LRANGE', KEYS[1], 0, -1)
for i, id in ipairs(known) do
  if id == ARGV[1] then return {i - 1, 0, known[i - 1] or ''} end
end
redis.call('RPUSH', KEYS[1], ARGV[1])
return {#known, 1, known[#known] or ''}
`;

/**
 * A watermark publish, by the rule of ../watermarks.ts applyWatermarkPublish. KEYS[1] the view's
 * record, a string `{"watermark":W,"at":A}` (a plain string so that serving reads get it in their
 * MGET); KEYS[2] the view's parts, a hash of part -> watermark; both share the view's hash tag, so
 * one call holds them on Cluster too. ARGV: at, then (part, watermark) pairs, all integer epoch ms.
 * No expiry. Returns {1 if the record changed else 0, the record}.
 */
export const publishWatermarksScript = `
local at = tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  local held = tonumber(redis.call('HGET', KEYS[2], ARGV[i]))
  if held == nil or tonumber(ARGV[i + 1]) > held then redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
end
local low
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do
  local n = tonumber(v)
  if low == nil or n < low then low = n end
end
local current = redis.call('GET', KEYS[1])
if current then
  if tonumber(string.match(current, '"watermark":(%-?%d+)')) == low then return {0, current} end
  local heldAt = tonumber(string.match(current, '"at":(%-?%d+)'))
  if heldAt + 1 > at then at = heldAt + 1 end
end
local record = '{"watermark":' .. string.format('%.0f', low) .. ',"at":' .. string.format('%.0f', at) .. '}'
redis.call('SET', KEYS[1], record)
return {1, record}
`;
