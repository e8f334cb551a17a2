// The online store's update rules as Lua, so that each update is one atomic script on one key (and so
// holds on Redis Cluster). They mirror ../merge.ts, which the memory store runs; the conformance
// suite holds both to the same outcomes.

/**
 * A JSON encoder for the stored shapes: cjson.encode rounds numbers to 14 significant digits, which
 * would make sums and averages drift from what the memory store keeps.
 */
const encoder = `
local function encode(value)
  local kind = type(value)
  if kind == 'number' then
    if value == math.floor(value) and math.abs(value) < 9007199254740992 then return string.format('%d', value) end
    return string.format('%.17g', value)
  elseif kind == 'string' then return cjson.encode(value)
  elseif kind == 'boolean' then return value and 'true' or 'false'
  elseif value == nil or value == cjson.null then return 'null'
  elseif kind == 'table' then
    local n = #value
    if n > 0 then
      local parts = {}
      for i = 1, n do parts[i] = encode(value[i]) end
      return '[' .. table.concat(parts, ',') .. ']'
    end
    local parts = {}
    for k, v in pairs(value) do parts[#parts + 1] = cjson.encode(tostring(k)) .. ':' .. encode(v) end
    return '{' .. table.concat(parts, ',') .. '}'
  end
  return 'null'
end
`;

/** KEYS[1] the key; ARGV: eventTime, packed value (eventTime first), retention ms. */
export const writeValueScript = `
local current = redis.call('GET', KEYS[1])
if current then
  local stored = tonumber(string.match(current, '^{"eventTime":(%-?[%d%.eE%+%-]+)'))
  if stored and stored > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`;

/** KEYS[1] the key; ARGV: the write as JSON, retention ms. Returns applied | duplicate | overlap. */
export const applyTilesScript = `${encoder}
local write = cjson.decode(ARGV[1])
local current = redis.call('GET', KEYS[1])
local state
if current then
  state = cjson.decode(current)
else
  state = { eventTime = write.eventTime, availableTime = write.availableTime }
end
if type(state.tiles) ~= 'table' then state.tiles = {} end
if type(state.offsets) ~= 'table' then state.offsets = {} end
local source = write.source
if type(source) == 'table' then
  local last = state.offsets[source.partition]
  if last ~= nil then
    if source.toOffset <= last then return 'duplicate' end
    if source.fromOffset <= last then return 'overlap' end
  end
  state.offsets[source.partition] = source.toOffset
end
for _, c in ipairs(write.cells) do
  local tiles = state.tiles[c.feature]
  if tiles == nil then tiles = {}; state.tiles[c.feature] = tiles end
  local old = tiles[c.tile]
  local new = c.cell
  if old == nil then
    tiles[c.tile] = new
  elseif c.op == 'add' then
    tiles[c.tile] = old + new
  elseif c.op == 'avg' then
    tiles[c.tile] = { old[1] + new[1], old[2] + new[2] }
  elseif c.op == 'min' then
    tiles[c.tile] = math.min(old, new)
  elseif c.op == 'max' then
    tiles[c.tile] = math.max(old, new)
  elseif c.op == 'last' then
    if new[1] >= old[1] then tiles[c.tile] = new end
  elseif c.op == 'distinct' then
    local seen, merged = {}, {}
    for _, v in ipairs(old) do if not seen[v] then seen[v] = true; merged[#merged + 1] = v end end
    for _, v in ipairs(new) do if not seen[v] then seen[v] = true; merged[#merged + 1] = v end end
    table.sort(merged)
    tiles[c.tile] = merged
  else
    return redis.error_reply('unknown cell op ' .. tostring(c.op))
  end
end
for feature, first in pairs(write.keepFrom) do
  local tiles = state.tiles[feature]
  if tiles ~= nil then
    for k, _ in pairs(tiles) do
      if tonumber(k) < first then tiles[k] = nil end
    end
  end
end
if write.eventTime > state.eventTime then state.eventTime = write.eventTime end
state.availableTime = write.availableTime
local packed = '{"eventTime":' .. encode(state.eventTime) .. ',"availableTime":' .. encode(state.availableTime) .. ',"tiles":' .. encode(state.tiles) .. ',"offsets":' .. encode(state.offsets) .. '}'
redis.call('SET', KEYS[1], packed, 'PX', ARGV[2])
return 'applied'
`;
