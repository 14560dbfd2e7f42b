-- prelude.lua: the declarative vocabulary rule files are written in (API level 1).
--
-- The host loads this chunk once per Lua state with one argument,
--   host = { array_mt = <metatable of sequences>, null = <sentinel>, api_level = 1,
--            caller_position = <function: "file:line:" of the nearest rule-file caller> }
-- and receives the table P returned at the end of this file:
--   P.install(env)    puts the vocabulary below into the sandbox table rule files run in
--   P.finish()        checks the rule set once every rule file has run (the results a rule
--                     reads exist and come earlier), then freezes it; the host then runs its
--                     checker (engine/lint.lua) over P.inspect(): tables whole, bands, sources
--   P.evaluate(case)  computes one result (without `id` and `ruleset`, which the host adds)
--   P.describe()      the rule set's structure as plain data (for diff, reports, coverage)
--   P.inspect()       the live definitions and a read trace, for the host's checker only
--   P.key_order       the order the writer gives to the keys of every map
--   P.warnings        facts found by P.finish that are not errors (e.g. a band no input reaches)
--
-- Everything every score needs lives here, once: scoring tables made of rows, totals over
-- unknown inputs as ranges (an unknown item takes every row of its table, so its points run
-- from the smallest to the largest of the table), bands looked up over [min, max] with
-- `indeterminate` when the range straddles two bands, three-valued conditions (true, false,
-- unknown) for contraindications and findings, and explanations (per item: the row that
-- matched, its labels and points; unknown items with their range). Rule files hold the data.
--
-- Reading guide for clinical editors: docs/rules.md shows each construct with an example.

local host = ...
local NULL = host.null            -- written as `null` by the host's writer
local ARRAY_MT = host.array_mt    -- marks a table as a sequence (written as [...] even when empty)

local P = { api_level = 1 }

local INF = math.huge
local type, getmetatable, setmetatable = type, getmetatable, setmetatable

---------------------------------------------------------------------------------------------
-- Small helpers
---------------------------------------------------------------------------------------------

-- array(t): mark t as a sequence for the writer and return it.
local function array(t)
  return setmetatable(t or {}, ARRAY_MT)
end

-- where(): "rules/<set>/<version>/<file>.lua:<line>:" of the nearest caller in a rule file,
-- outside the engine's own Lua ("?:" when there is none); the debug library is not available
-- to Lua code here: the host finds it. P.where for the checker's probes.
local where = host.caller_position
P.where = where

-- fail(pos, fmt, ...): raise a rule-set error that starts with a file:line position.
local function fail(pos, fmt, ...)
  error(string.format("%s %s", pos or where(), string.format(fmt, ...)), 0)
end

-- at(pos): a position quoted inside a message ("sins.lua:24", without the final colon).
local function at(pos)
  return (tostring(pos):gsub(":$", ""))
end

-- TRACE(t, path): when the host's checker sets it (P.inspect().set_trace), told of every
-- path a rule reads, so `spinerules check` can find the case fields a function reads.
local TRACE = nil

-- The steps of each path, split once: paths are the rule files' constants, so this grows with
-- the rule set, not with the cases (and splitting on every read was a tenth of a case's time).
local path_steps = setmetatable({}, { __index = function(cache, path)
  local steps = {}
  for key in path:gmatch("[^%.]+") do steps[#steps + 1] = key end
  rawset(cache, path, steps)
  return steps
end })

-- get(t, "a.b.c"): the value at that path, or nil when any step is missing or null.
local function get(t, path)
  if TRACE then TRACE(t, path) end
  local v = t
  local steps = path_steps[path]
  for i = 1, #steps do
    if type(v) ~= "table" then return nil end
    v = v[steps[i]]
    if v == NULL then return nil end
  end
  if v == NULL then return nil end
  return v
end

-- getter(path): function(t) doing get(t, path), with the steps of the common short paths
-- held in upvalues (the evaluation reads paths on every case; they are the rule files'
-- constants); one per path. The case and the results under evaluation (P.evaluate sets
-- them) are known to be tables without asking type(), a C call that was most of a read's
-- cost; so are the last other table a getter read from (the lesion whose fields the rules
-- read one after the other) and the table a two-step path last went through (the same
-- `spine` of the case for every read of "spine.lesions"). Only tables are remembered, and no
-- table has an __eq metamethod (rule files cannot set metatables), so `t ~= known` compares
-- identities.
local NOT_A_TABLE = {}                          -- (remembered before any table is)
local CASE, RESULTS = NOT_A_TABLE, NOT_A_TABLE  -- (tables, once an evaluation began)
local LAST = NOT_A_TABLE                        -- the last other table read from
local LIST = NOT_A_TABLE                        -- the last list a per-element check went through
local getter_of = {}                            -- path -> its getter
local function getter(path)
  local g = getter_of[path]
  if g then return g end
  local steps = path_steps[path]
  local n = #steps
  if n == 1 then
    local k1 = steps[1]
    g = function(t)
      if TRACE then TRACE(t, path) end
      if t ~= CASE and t ~= RESULTS and t ~= LAST then
        if type(t) ~= "table" then return nil end
        LAST = t
      end
      local v = t[k1]
      if v == NULL then return nil end
      return v
    end
  elseif n == 2 then
    local k1, k2 = steps[1], steps[2]
    local inner = NOT_A_TABLE
    g = function(t)
      if TRACE then TRACE(t, path) end
      if t ~= CASE and t ~= RESULTS and t ~= LAST then
        if type(t) ~= "table" then return nil end
        LAST = t
      end
      local v = t[k1]
      if v ~= inner then
        if type(v) ~= "table" then return nil end   -- (null is not a table)
        inner = v
      end
      v = v[k2]
      if v == NULL then return nil end
      return v
    end
  else
    g = function(t)
      if TRACE then TRACE(t, path) end
      local v = t
      for i = 1, n do
        if type(v) ~= "table" then return nil end
        v = v[steps[i]]
        if v == NULL then return nil end
      end
      if v == NULL then return nil end
      return v
    end
  end
  getter_of[path] = g
  return g
end

local function labels_of(def, pos, what)
  if type(def.fr) ~= "string" or def.fr == "" then fail(pos, "%s needs a French label `fr`", what) end
  if type(def.en) ~= "string" or def.en == "" then fail(pos, "%s needs an English label `en`", what) end
end

---------------------------------------------------------------------------------------------
-- Three-valued logic: every condition answers true, false or `unknown`.
---------------------------------------------------------------------------------------------

local UNKNOWN = setmetatable({}, {
  __tostring = function() return "unknown" end,
  __newindex = function() error("`unknown` cannot be changed", 2) end,
  __metatable = "unknown",
})

-- status_words(words): the words for true, false and unknown of a list of checks (`statuses`).
local function status_words(words)
  words = words or {}
  return words.yes or "present", words.no or "absent", words.unknown or "unknown"
end

-- Kleene logic: "or" is true if any is true, false if all are false, unknown otherwise; "and"
-- is false if any is false, true if all are true, unknown otherwise; "not" swaps true and
-- false (any_of, all_of, negate, for_any and the per-element checks form them as they go).
-- A condition's nil or null reads as unknown, as does anything but true or false.

---------------------------------------------------------------------------------------------
-- Accessors: how a rule reads its inputs.
--
-- An accessor is either a path string read from the current subject ("patient.karnofsky",
-- or "pain" inside a per-lesion score) or a function(subject, case, results) returning a
-- value, nil when unknown, or a bounded value from value_between()/value_at_least().
---------------------------------------------------------------------------------------------

local BOUNDED = {}   -- metatable tagging a value only known to lie between two limits
-- The values whose metatable is BOUNDED, as keys: `BOUNDED_SET[v]` answers is_bounded(v) with
-- one table read instead of a call (every condition and item asks it of every value it reads).
local BOUNDED_SET = setmetatable({}, { __mode = "k" })

-- value_between(lo, hi): an input known only to lie in [lo, hi] (integers, hi may be math.huge).
local function value_between(lo, hi)
  local v = setmetatable({ lo = lo, hi = hi }, BOUNDED)
  BOUNDED_SET[v] = true
  return v
end

local function value_at_least(n)
  return value_between(n, INF)
end

local function is_bounded(v)
  return getmetatable(v) == BOUNDED
end

local DEPENDS = {}   -- accessor function -> name of the result it reads (checked by finish)

-- How each accessor and condition built by the vocabulary reads ({ op = "is", <its
-- arguments> }), for P.describe: `spinerules diff` compares rule sets through it, and a
-- function written in a rule file (no entry here) is described as such. Weak keys: a
-- condition built while a case is evaluated is not kept alive by this table.
local DESC = setmetatable({}, { __mode = "k" })
local function described(fn, op, ...)
  DESC[fn] = { op = op, ... }
  return fn
end

-- read(accessor, subject, case, results): the value (or nil, or a bounded value) and its note.
local function read(accessor, subject, case, results)
  if type(accessor) == "string" then
    return get(subject, accessor)
  end
  local value, note = accessor(subject, case, results)
  if value == NULL or value == UNKNOWN then value = nil end
  return value, note
end

-- reader(accessor): function(subject, case, results) doing read(accessor, ...), chosen once.
local function reader(accessor)
  if type(accessor) == "string" then return getter(accessor) end
  if type(accessor) ~= "function" then
    return function(subject, case, results) return read(accessor, subject, case, results) end
  end
  return function(subject, case, results)
    local value, note = accessor(subject, case, results)
    if value == NULL or value == UNKNOWN then value = nil end
    return value, note
  end
end

-- result "frankel.deficit": reads a field of the result computed by an earlier rule file.
-- The words `unknown` and `indeterminate` and null all read as unknown (nil).
local function result(path)
  local first = path:match("^[^%.]+")
  local get_path = getter(path)
  local fn = function(_, _, results)
    local v = get_path(results)
    if v == "unknown" or v == "indeterminate" then return nil end
    return v
  end
  DEPENDS[fn] = { name = first, pos = where() }
  return described(fn, "result", path)
end

-- the value of an accessor, for use inside a rule file's own functions.
local getters, getter_count = {}, 0   -- path -> getter(path), for the first paths read
local function value_of(accessor, subject, case, results)
  local g = getters[accessor]   -- (asked first: a path read before needs no type())
  if g then return (g(subject)) end
  if type(accessor) == "string" then
    if getter_count < 1024 then
      getter_count = getter_count + 1
      g = getter(accessor)
      getters[accessor] = g
      return (g(subject))
    end
  end
  return (read(accessor, subject, case or subject, results))
end

---------------------------------------------------------------------------------------------
-- Conditions: small builders returning function(subject, case, results) -> true/false/unknown.
---------------------------------------------------------------------------------------------

local function condition(accessor, test)
  local read_value = reader(accessor)
  local fn = function(subject, case, results)
    local v = read_value(subject, case, results)
    if v == nil or BOUNDED_SET[v] then return UNKNOWN end
    return test(v)
  end
  if type(accessor) == "function" and DEPENDS[accessor] then DEPENDS[fn] = DEPENDS[accessor] end
  return fn
end

-- is(accessor, wanted): the most used condition, written out (one call less per evaluation
-- than condition() with a test function).
local function is(accessor, wanted)
  local read_value = reader(accessor)
  local fn = function(subject, case, results)
    local v = read_value(subject, case, results)
    if v == nil or BOUNDED_SET[v] then return UNKNOWN end
    return v == wanted
  end
  if type(accessor) == "function" and DEPENDS[accessor] then DEPENDS[fn] = DEPENDS[accessor] end
  return described(fn, "is", accessor, wanted)
end

-- (lists are walked as ipairs would: up to the first nil)
local function is_one_of(accessor, list)
  return described(condition(accessor, function(v)
    local i, w = 1, list[1]
    while w ~= nil do
      if v == w then return true end
      i = i + 1
      w = list[i]
    end
    return false
  end), "is_one_of", accessor, list)
end

local function is_true(accessor) return is(accessor, true) end
local function is_below(accessor, n)
  return described(condition(accessor, function(v) return v < n end), "<", accessor, n)
end
local function is_at_most(accessor, n)
  return described(condition(accessor, function(v) return v <= n end), "<=", accessor, n)
end
local function is_at_least(accessor, n)
  return described(condition(accessor, function(v) return v >= n end), ">=", accessor, n)
end

-- includes_any("tumor.metastatic_sites", {"liver", "lung"}): does the list hold any of them?
local function includes_any(accessor, wanted)
  return described(condition(accessor, function(list)
    local i, v = 1, list[1]
    while v ~= nil do
      local j, w = 1, wanted[1]
      while w ~= nil do
        if v == w then return true end
        j = j + 1
        w = wanted[j]
      end
      i = i + 1
      v = list[i]
    end
    return false
  end), "includes_any", accessor, wanted)
end

-- The leading conditions of any_of/all_of (ipairs stops at the first nil) and their count.
local function condition_list(...)
  local conds = { ... }
  local n = 0
  while conds[n + 1] ~= nil do n = n + 1 end
  return conds, n
end

-- any_of (dominant true) and all_of (dominant false) in three-valued logic: one condition
-- giving the dominant value decides; else any unknown leaves the answer unknown. Every
-- condition is evaluated (each may read fields or fail) before the answer is formed.
local function combined(name, dominant, ...)
  local conds, n = condition_list(...)
  local other = not dominant
  return described(function(subject, case, results)
    local decided, any_unknown = false, false
    for i = 1, n do
      local v = conds[i](subject, case, results)   -- (none is nil: see condition_list)
      if v == dominant then decided = true
      elseif v ~= other then any_unknown = true end
    end
    if decided then return dominant end
    if any_unknown then return UNKNOWN end
    return other
  end, name, conds)
end

local function any_of(...) return combined("any_of", true, ...) end
local function all_of(...) return combined("all_of", false, ...) end

local function negate(cond)
  return described(function(subject, case, results)
    if cond == nil then return false end   -- (no condition always holds)
    local v = cond(subject, case, results)
    if v == true then return false end
    if v == false then return true end
    return UNKNOWN
  end, "not", cond)
end

-- for_any(list, cond): true when cond is true for some element of the list, false when it is
-- false for every element, unknown otherwise; an absent or empty list is unknown (nothing
-- was assessed, which is not the same as "assessed and found absent").
local function for_any(list_accessor, cond)
  local read_list = reader(list_accessor)
  return described(function(subject, case, results)
    local list = read_list(subject, case, results)
    if type(list) ~= "table" or #list == 0 then return UNKNOWN end
    local any_true, any_unknown = false, false
    local i, element = 1, list[1]
    while element ~= nil do
      local v = true   -- (no condition always holds; nil and null read as unknown)
      if cond ~= nil then v = cond(element, case, results) end
      if v == true then any_true = true
      elseif v ~= false then any_unknown = true end
      i = i + 1
      element = list[i]
    end
    if any_true then return true end
    if any_unknown then return UNKNOWN end
    return false
  end, "for_any", list_accessor, cond)
end

-- score_at_least(n): for one score result (e.g. one SINS): true when its min >= n, false when
-- its max < n, unknown when the range straddles n.
local function score_at_least(n)
  return described(function(score)
    if type(score) ~= "table" or type(score.min) ~= "number" then return UNKNOWN end
    if score.min >= n then return true end
    if score.max < n then return false end
    return UNKNOWN
  end, "score_at_least", n)
end

---------------------------------------------------------------------------------------------
-- Row conditions ("when" of a table row): which input values a row stands for.
---------------------------------------------------------------------------------------------

local MATCHER = {}   -- metatable of row conditions

-- The vertebral levels in anatomical order; the chapter's "C0" is the occiput, not a level.
local LEVELS = {}
do
  local counts = { { "C", 7 }, { "T", 12 }, { "L", 5 }, { "S", 5 } }
  for _, seg in ipairs(counts) do
    for i = 1, seg[2] do LEVELS[#LEVELS + 1] = seg[1] .. i end
  end
end
local LEVEL_INDEX, LEVEL_SEGMENT = {}, {}
for i, name in ipairs(LEVELS) do LEVEL_INDEX[name], LEVEL_SEGMENT[name] = i, name:sub(1, 1) end

-- segment_of("T12") == "T": C cervical, T thoracic, L lumbar, S sacral (nil for anything else).
local function segment_of(level)
  return LEVEL_SEGMENT[level]
end

-- What each row test built here answers, by test function: { set = <its set> } for levels and
-- one_of, { literal = <value> } for a string or boolean literal. Compiling a table (P.finish)
-- turns these into one lookup from value to row; { number = true, lo =, hi = } for a numeric
-- test (it takes the numbers from lo to hi, no string or boolean); any other test is called.
local TEST_KIND = setmetatable({}, { __mode = "k" })

local function numeric_matcher(lo, hi, label)
  local test = function(v) return type(v) == "number" and v >= lo and v <= hi end
  TEST_KIND[test] = { number = true, lo = lo, hi = hi }
  return setmetatable({ lo = lo, hi = hi, label = label, test = test }, MATCHER)
end

local function at_least(n) return numeric_matcher(n, INF, ">= " .. n) end
local function at_most(n) return numeric_matcher(-INF, n, "<= " .. n) end
local function above(n) return numeric_matcher(n + 1, INF, "> " .. n) end
local function below(n) return numeric_matcher(-INF, n - 1, "< " .. n) end
local function between(a, b) return numeric_matcher(a, b, a .. "-" .. b) end

-- levels "C1-C2, C7-T2": the set of vertebral levels in those inclusive ranges.
local function levels(spec)
  local set, list = {}, {}
  for part in tostring(spec):gmatch("[^,%s]+") do
    local a, b = part:match("^(%w+)%-(%w+)$")
    a = a or part
    b = b or part
    local ia, ib = LEVEL_INDEX[a], LEVEL_INDEX[b]
    if not ia or not ib or ia > ib then
      error(string.format("levels: '%s' is not a level or an ascending range of levels (C1..S5)", part), 2)
    end
    for i = ia, ib do
      if set[LEVELS[i]] then error("levels: " .. LEVELS[i] .. " appears twice", 2) end
      set[LEVELS[i]] = true
      list[#list + 1] = LEVELS[i]
    end
  end
  local test = function(v) return set[v] == true end
  TEST_KIND[test] = { set = set }
  return setmetatable({ set = set, list = list, label = spec, test = test }, MATCHER)
end

-- in_levels("level", "S1-S5"): is the level read by the accessor one of these levels?
local function in_levels(accessor, spec)
  local ok, m = pcall(levels, spec)
  if not ok then error(m, 2) end
  local set = m.set
  local read_value = reader(accessor)
  local fn = function(subject, case, results)
    local v = read_value(subject, case, results)
    if v == nil or BOUNDED_SET[v] then return UNKNOWN end
    return set[v] == true
  end
  if type(accessor) == "function" and DEPENDS[accessor] then DEPENDS[fn] = DEPENDS[accessor] end
  return described(fn, "in_levels", accessor, spec)
end

local function one_of(list)
  local set = {}
  for _, v in ipairs(list) do set[v] = true end
  local test = function(v) return set[v] == true end
  TEST_KIND[test] = { set = set }
  return setmetatable({ set = set, list = list, test = test }, MATCHER)
end

-- as_matcher(when): turn the first element of a row into a condition object.
local function as_matcher(when, pos)
  if getmetatable(when) == MATCHER then return when end
  local t = type(when)
  if t == "string" or t == "boolean" then
    local test = function(v) return v == when end
    TEST_KIND[test] = { literal = when }
    return setmetatable({ literal = when, test = test }, MATCHER)
  elseif t == "number" then
    return numeric_matcher(when, when, tostring(when))
  elseif t == "function" then
    return setmetatable({ custom = true, test = when }, MATCHER)
  end
  fail(pos, "a row must start with the value or condition it stands for (got %s)", t)
end

-- can_match(matcher, value): may this row apply to a bounded input value?
local function can_match(m, v)
  if m.lo ~= nil then return m.lo <= v.hi and v.lo <= m.hi end
  if m.custom then return true end
  if type(m.literal) == "number" then return m.literal >= v.lo and m.literal <= v.hi end
  return false
end

---------------------------------------------------------------------------------------------
-- Registry of what rule files define. Outputs are computed in the order they are defined
-- (the manifest's file order), so a rule may read the results of earlier files.
---------------------------------------------------------------------------------------------

-- Coverage recording, on only while `verify --coverage` runs (P.coverage_start); otherwise nil
-- and each hook below costs one test. COVERAGE[obj][what] = true for each row (what = "row"),
-- band (the band's id, or "indeterminate", under its bands), contraindication status and kind,
-- and decision step outcome an evaluation reached.
local COVERAGE = nil
local function cover(obj, what)
  local seen = COVERAGE[obj]
  if not seen then seen = {}; COVERAGE[obj] = seen end
  seen[what] = true
end

local outputs = {}          -- ordered list of definitions { name, pos, kind, ... }
local output_by_name = {}
local finished = false

local function register(name, pos, def)
  if finished then fail(pos, "the rule set is already complete: nothing can be added") end
  if output_by_name[name] then
    fail(pos, "'%s' is already defined at %s", name, at(output_by_name[name].pos))
  end
  def.name, def.pos = name, pos
  outputs[#outputs + 1] = def
  output_by_name[name] = def
  return def
end

-- named(kind, fn): the curried form `kind "name" { ... }` used by every construct.
local function named(kind, build)
  return function(name)
    if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
      error(string.format("%s: expected a name made of letters, digits and _ (got %s)", kind, tostring(name)), 2)
    end
    local pos = where()
    return function(def)
      if type(def) ~= "table" then error(kind .. " '" .. name .. "' needs a { ... } definition", 2) end
      return build(name, def, pos)
    end
  end
end

---------------------------------------------------------------------------------------------
-- row, item, bands, band, score: scoring tables (Tableaux 10 and 11).
---------------------------------------------------------------------------------------------

local ROW, ITEM, BANDS, BAND = {}, {}, {}, {}

-- row { <value or condition>, points = 3, fr = "...", en = "...", source = "..." }
-- In a classification, `points` is replaced by the class it gives (e.g. deficit = "complete").
local function row(def)
  local pos = where()
  if type(def) ~= "table" then fail(pos, "row needs a { ... } definition") end
  labels_of(def, pos, "row")
  local r = { pos = pos, when = as_matcher(def[1], pos), fr = def.fr, en = def.en,
              source = def.source, points = def.points, attrs = {} }
  for k, v in pairs(def) do
    if type(k) == "string" and k ~= "fr" and k ~= "en" and k ~= "source" and k ~= "points" then
      r.attrs[k] = v
    end
  end
  return setmetatable(r, ROW)
end

-- A declared maximum (`max = 18`): whole and not negative.
local function declared_max(def, pos, what)
  if def.max ~= nil and (math.type(def.max) ~= "integer" or def.max < 0) then
    fail(pos, "%s: max must be a whole number of points (got %s)", what, tostring(def.max))
  end
  return def.max
end

-- item "pain" { fr = ..., en = ..., input = "pain", max = 3, domain = ..., row {...}, ... }
-- `max` (optional): the points the table gives at most, as the chapter prints it ("0/5").
-- `domain` (optional, for an input computed by a function): the values it takes, so that
-- `spinerules check` can prove every value has one row: a case field whose values it takes
-- ("patient.general_condition"), a list of values, or a numeric condition (at_least(1)).
local item = named("item", function(name, def, pos)
  labels_of(def, pos, "item '" .. name .. "'")
  local it = { name = name, pos = pos, fr = def.fr, en = def.en, source = def.source,
               input = def.input or name, rows = {},
               declared_max = declared_max(def, pos, "item '" .. name .. "'"), domain = def.domain }
  if type(it.input) ~= "string" and type(it.input) ~= "function" then
    fail(pos, "item '%s': input must be a path or a function", name)
  end
  if it.domain ~= nil and type(it.domain) ~= "string" and type(it.domain) ~= "table" then
    fail(pos, "item '%s': domain must be a case field, a list of values or a numeric condition", name)
  end
  for _, r in ipairs(def) do
    if getmetatable(r) ~= ROW then fail(pos, "item '%s' may only contain rows", name) end
    it.rows[#it.rows + 1] = r
  end
  if #it.rows == 0 then fail(pos, "item '%s' has no rows", name) end
  local lo, hi = INF, -INF
  for _, r in ipairs(it.rows) do
    if math.type(r.points) ~= "integer" then
      fail(r.pos, "row of item '%s' needs whole `points` (got %s)", name, tostring(r.points))
    end
    if r.points < lo then lo = r.points end
    if r.points > hi then hi = r.points end
    r.source = r.source or it.source
  end
  it.min, it.max = lo, hi
  return setmetatable(it, ITEM)
end)

-- band { "stable", from = 0, to = 6, fr = ..., en = ... }; limits: from/to are inclusive,
-- above = n means "> n", below = n means "< n"; a missing side is open.
local function band(def)
  local pos = where()
  if type(def) ~= "table" or type(def[1]) ~= "string" then fail(pos, "band needs { \"id\", ... }") end
  labels_of(def, pos, "band '" .. def[1] .. "'")
  local lo, hi = -INF, INF
  if def.from ~= nil then lo = def.from end
  if def.above ~= nil then lo = def.above + 1 end
  if def.to ~= nil then hi = def.to end
  if def.below ~= nil then hi = def.below - 1 end
  if (def.from ~= nil and def.above ~= nil) or (def.to ~= nil and def.below ~= nil) then
    fail(pos, "band '%s': give either from or above, and either to or below", def[1])
  end
  if lo > hi then fail(pos, "band '%s' is empty (%s > %s)", def[1], tostring(lo), tostring(hi)) end
  return setmetatable({ id = def[1], lo = lo, hi = hi, fr = def.fr, en = def.en,
                        source = def.source, pos = pos }, BAND)
end

-- bands "category" { band {...}, band {...} }: one classification of a score's total.
local bands = named("bands", function(name, def, pos)
  local b = { name = name, pos = pos, source = def.source, list = {} }
  for _, x in ipairs(def) do
    if getmetatable(x) ~= BAND then fail(pos, "bands '%s' may only contain band { ... }", name) end
    b.list[#b.list + 1] = x
  end
  if #b.list == 0 then fail(pos, "bands '%s' is empty", name) end
  return setmetatable(b, BANDS)
end)

local INDETERMINATE = { id = "indeterminate", fr = "indéterminé", en = "indeterminate" }

local function band_range_array(lo, hi)
  local r = array()
  r[1] = lo == -INF and NULL or lo
  r[2] = hi == INF and NULL or hi
  return r
end

-- lookup(bands, min, max): the band holding the whole range, or `indeterminate`.
local function lookup(b, lo, hi)
  local first, last
  for _, x in ipairs(b.list) do
    if lo >= x.lo and lo <= x.hi then first = x end
    if hi >= x.lo and hi <= x.hi then last = x end
  end
  if first and first == last then return first end
  local candidates = array()
  for _, x in ipairs(b.list) do
    if x.lo <= hi and lo <= x.hi then candidates[#candidates + 1] = x.id end
  end
  return INDETERMINATE, candidates
end

-- item_entry(item, value, note): points and explanation of one item, given the value and note
-- its input read. (The compiled evaluation, below P.finish, answers the common cases itself
-- and leaves the others to this function.)
local function item_entry(it, value, note)
  local entry = { fr = it.fr, en = it.en, source = it.source }
  local possible = {}
  if value ~= nil and not is_bounded(value) then
    for _, r in ipairs(it.rows) do
      if r.when.test(value) then possible[1] = r; break end
    end
    entry.value = value
    if #possible == 0 then entry.unmatched = true end   -- a value no row names: treated as unknown
  elseif is_bounded(value) then
    for _, r in ipairs(it.rows) do
      if can_match(r.when, value) then possible[#possible + 1] = r end
    end
    entry.value = NULL
    entry.value_range = band_range_array(value.lo, value.hi)
  else
    entry.value = NULL
  end
  if #possible == 0 then
    for i, r in ipairs(it.rows) do possible[i] = r end
  end
  if note then entry.note = note end
  local lo, hi = INF, -INF
  for _, r in ipairs(possible) do
    if r.points < lo then lo = r.points end
    if r.points > hi then hi = r.points end
  end
  -- The row is settled when the value (or its bounds) leaves a single row possible. An input
  -- not given at all stays unknown even if the table has a single row (SPEC: never a default).
  if #possible == 1 and not entry.unmatched and (entry.value ~= NULL or entry.value_range ~= nil) then
    local r = possible[1]
    if COVERAGE then cover(r, "row") end
    entry.points = r.points
    entry.row = { fr = r.fr, en = r.en }
    entry.source = r.source
    return lo, hi, entry
  end
  entry.points = NULL
  entry.row = NULL
  entry.unknown = true
  entry.range = array({ lo, hi })
  return lo, hi, entry
end

-- score "sins" { fr, en, source, max = 18, each = "spine.lesions", key = "level", item...,
--               bands... }   (`max`, optional: the total the chapter scores it out of)
local score = named("score", function(name, def, pos)
  labels_of(def, pos, "score '" .. name .. "'")
  local s = { fr = def.fr, en = def.en, source = def.source, each = def.each, key = def.key,
              items = {}, bands = {}, declared_max = declared_max(def, pos, "score '" .. name .. "'") }
  for _, x in ipairs(def) do
    local mt = getmetatable(x)
    if mt == ITEM then
      x.source = x.source or s.source
      for _, r in ipairs(x.rows) do r.source = r.source or x.source end
      s.items[#s.items + 1] = x
    elseif mt == BANDS then
      x.source = x.source or s.source
      for _, bx in ipairs(x.list) do bx.source = bx.source or x.source end
      s.bands[#s.bands + 1] = x
    else
      fail(pos, "score '%s' may only contain item \"...\" { } and bands \"...\" { }", name)
    end
  end
  if #s.items == 0 then fail(pos, "score '%s' has no items", name) end
  s.min, s.max = 0, 0
  for _, it in ipairs(s.items) do s.min = s.min + it.min; s.max = s.max + it.max end
  s.kind = "score"
  return register(name, pos, s)
end)

-- band_start("sins", "category", "potentially_unstable"): the lowest total of that band, as
-- defined by the score's rule file (so a limit lives in one file only).
local function band_start(score_name, bands_name, band_id)
  local s = output_by_name[score_name]
  if not s or s.kind ~= "score" then
    error("band_start: no score '" .. tostring(score_name) .. "' is defined before this file", 2)
  end
  for _, b in ipairs(s.bands) do
    if b.name == bands_name then
      for _, x in ipairs(b.list) do
        if x.id == band_id then return x.lo end
      end
    end
  end
  error("band_start: score '" .. score_name .. "' has no band '" .. bands_name .. "." .. tostring(band_id) .. "'", 2)
end

---------------------------------------------------------------------------------------------
-- classification: a value looked up in a table that gives a class (Tableau 9, Frankel).
---------------------------------------------------------------------------------------------

-- classification "frankel" { input = "neurology.frankel", value_key = "grade",
--                            gives = "deficit", unknown = "unknown", row {...}, ... }
local classification = named("classification", function(name, def, pos)
  labels_of(def, pos, "classification '" .. name .. "'")
  local c = { fr = def.fr, en = def.en, source = def.source, input = def.input,
              value_key = def.value_key or "value", gives = def.gives,
              unknown = def.unknown or "unknown", rows = {}, kind = "classification" }
  if type(c.gives) ~= "string" then fail(pos, "classification '%s' needs `gives`", name) end
  for _, r in ipairs(def) do
    if getmetatable(r) ~= ROW then fail(pos, "classification '%s' may only contain rows", name) end
    if r.attrs[c.gives] == nil then fail(r.pos, "row needs `%s = ...`", c.gives) end
    r.source = r.source or c.source
    c.rows[#c.rows + 1] = r
  end
  if #c.rows == 0 then fail(pos, "classification '%s' has no rows", name) end
  return register(name, pos, c)
end)

---------------------------------------------------------------------------------------------
-- contraindication: a condition with a kind (absolute | relative), always reported.
---------------------------------------------------------------------------------------------

local contraindication_list   -- the shared output "contraindications", created on first use

-- contraindication "short_survival" { when = <condition>, kind = "absolute",
--                                     relative_when = <condition>, fr, en, source }
local contraindication = named("contraindication", function(name, def, pos)
  labels_of(def, pos, "contraindication '" .. name .. "'")
  if type(def.when) ~= "function" then fail(pos, "contraindication '%s' needs `when = <condition>`", name) end
  if def.kind ~= "absolute" and def.kind ~= "relative" then
    fail(pos, "contraindication '%s': kind must be \"absolute\" or \"relative\"", name)
  end
  if def.relative_when ~= nil and type(def.relative_when) ~= "function" then
    fail(pos, "contraindication '%s': relative_when must be a condition", name)
  end
  if not contraindication_list then
    contraindication_list = { entries = {}, kind = "contraindications" }
    register("contraindications", pos, contraindication_list)
  end
  for _, c in ipairs(contraindication_list.entries) do
    if c.id == name then fail(pos, "contraindication '%s' is already defined at %s", name, at(c.pos)) end
  end
  local c = { id = name, pos = pos, when = def.when, kind = def.kind, relative_when = def.relative_when,
              fr = def.fr, en = def.en, source = def.source }
  contraindication_list.entries[#contraindication_list.entries + 1] = c
  return c
end)

-- any_contraindication("absolute"): true if one of that kind is present, unknown if none is
-- present but one of that kind is unknown, false otherwise.
local NO_RESULTS = {}   -- stands for a result list not computed (read only)

local function any_contraindication(kind)
  local fn = function(_, _, results)
    local any_present, any_unknown = false, false
    local list = results.contraindications or NO_RESULTS
    local i, c = 1, list[1]
    while c ~= nil do
      if c.kind == kind then
        local status = c.status
        if status == "present" then any_present = true
        elseif status == "unknown" then any_unknown = true end
      end
      i = i + 1
      c = list[i]
    end
    if any_present then return true end
    if any_unknown then return UNKNOWN end
    return false
  end
  DEPENDS[fn] = { name = "contraindications", pos = where() }
  return described(fn, "any_contraindication", kind)
end

---------------------------------------------------------------------------------------------
-- decision: ordered steps, the first whose condition is true gives the outcome.
---------------------------------------------------------------------------------------------

local STEP = {}

-- step { when = <condition>, gives = "contraindicated" or <accessor>, fr, en, source }
local function step(def)
  local pos = where()
  labels_of(def, pos, "step")
  if def.gives == nil then fail(pos, "step needs `gives`") end
  return setmetatable({ pos = pos, id = def.id or def[1], when = def.when, gives = def.gives,
                        fr = def.fr, en = def.en, source = def.source }, STEP)
end

-- band_of("tokuhashi", "surgery"): accessor for a band of a score computed earlier.
local function band_of(score_name, band_name)
  local fn = function(_, _, results)
    local s = results[score_name]
    return s and s[band_name] or nil
  end
  DEPENDS[fn] = { name = score_name, pos = where() }
  return described(fn, "band_of", score_name, band_name)
end

-- band_is("tokuhashi", "surgery", "recommended"): true/false; unknown when the band is
-- indeterminate (unless "indeterminate" itself is what is asked).
local function band_is(score_name, band_name, wanted)
  local acc = band_of(score_name, band_name)
  local fn = function(subject, case, results)
    local v = acc(subject, case, results)
    if v == nil then return UNKNOWN end
    if v == wanted then return true end
    if v == "indeterminate" then return UNKNOWN end
    return false
  end
  DEPENDS[fn] = DEPENDS[acc]
  return described(fn, "band_is", score_name, band_name, wanted)
end

-- decision "recommendation" { source, step {...}, step {...} }
-- Result: the outcome string, plus `<name>_reason` (the step that decided) and
-- `<name>_caveats` (earlier steps whose condition was unknown: they could still apply).
local decision = named("decision", function(name, def, pos)
  local d = { steps = {}, source = def.source, kind = "decision" }
  for i, s in ipairs(def) do
    if getmetatable(s) ~= STEP then fail(pos, "decision '%s' may only contain steps", name) end
    s.number = i
    s.id = s.id or ("step_" .. i)
    s.source = s.source or d.source
    d.steps[#d.steps + 1] = s
  end
  if #d.steps == 0 then fail(pos, "decision '%s' has no steps", name) end
  if d.steps[#d.steps].when ~= nil then
    fail(d.steps[#d.steps].pos, "the last step of decision '%s' must have no `when` (it always applies)", name)
  end
  return register(name, pos, d)
end)

---------------------------------------------------------------------------------------------
-- findings: a list of checks, each present / absent / unknown (local indications, technique
-- notes, missing work-up). A check may be evaluated per element of a list (per lesion).
---------------------------------------------------------------------------------------------

local CHECK = {}

-- check "epidural_compression" { when = <condition>, each = "spine.lesions", key = "level",
--                                fr, en, source }
local check = named("check", function(name, def, pos)
  labels_of(def, pos, "check '" .. name .. "'")
  if def.when ~= nil and type(def.when) ~= "function" then fail(pos, "check '%s': when must be a condition", name) end
  return setmetatable({ id = name, pos = pos, when = def.when, each = def.each, key = def.key,
                        fr = def.fr, en = def.en, source = def.source }, CHECK)
end)

-- findings "local_indications" { source, statuses = {yes=, no=, unknown=}, list = "all" |
--                               "not_absent", check "..." {...}, ... }
local findings = named("findings", function(name, def, pos)
  local f = { checks = {}, source = def.source, words = def.statuses or {},
              list = def.list or "all", kind = "findings" }
  if f.list ~= "all" and f.list ~= "not_absent" then
    fail(pos, "findings '%s': list must be \"all\" or \"not_absent\"", name)
  end
  for _, c in ipairs(def) do
    if getmetatable(c) ~= CHECK then fail(pos, "findings '%s' may only contain check \"...\" { }", name) end
    c.source = c.source or f.source
    f.checks[#f.checks + 1] = c
  end
  return register(name, pos, f)
end)

-- status_of("local_indications", "neurological_deficit"): a finding computed earlier, as a
-- condition (present -> true, absent -> false, anything else -> unknown).
local function status_of(list_name, id)
  local fn = function(_, _, results)
    local list = results[list_name] or NO_RESULTS
    local i, e = 1, list[1]
    while e ~= nil do
      if e.id == id then
        local status = e.status
        if status == "present" then return true end
        if status == "absent" then return false end
        return UNKNOWN
      end
      i = i + 1
      e = list[i]
    end
    return UNKNOWN
  end
  DEPENDS[fn] = { name = list_name, pos = where() }
  return described(fn, "status_of", list_name, id)
end

---------------------------------------------------------------------------------------------
-- risk: a baseline rate (raised in one situation) and risk factors (section 6).
---------------------------------------------------------------------------------------------

local FACTOR = {}

-- factor "prior_radiotherapy" { when = <condition>, fr, en, source }
local factor = named("factor", function(name, def, pos)
  labels_of(def, pos, "factor '" .. name .. "'")
  return setmetatable({ id = name, pos = pos, when = def.when, each = def.each, key = def.key,
                        fr = def.fr, en = def.en, source = def.source }, FACTOR)
end)

-- risk "complication_risk" { base_percent = 20, raised_percent = 40, raised_when = <condition>,
--                            fr, en, source, factor "..." {...}, ... }
local risk = named("risk", function(name, def, pos)
  labels_of(def, pos, "risk '" .. name .. "'")
  if math.type(def.base_percent) ~= "integer" or math.type(def.raised_percent) ~= "integer" then
    fail(pos, "risk '%s' needs whole base_percent and raised_percent", name)
  end
  local rk = { fr = def.fr, en = def.en, source = def.source, base = def.base_percent,
               raised = def.raised_percent, raised_when = def.raised_when,
               raised_fr = def.raised_fr, raised_en = def.raised_en, factors = {}, kind = "risk" }
  for _, f in ipairs(def) do
    if getmetatable(f) ~= FACTOR then fail(pos, "risk '%s' may only contain factor \"...\" { }", name) end
    f.source = f.source or rk.source
    rk.factors[#rk.factors + 1] = f
  end
  return register(name, pos, rk)
end)

---------------------------------------------------------------------------------------------
-- Freezing: after P.finish the definitions and the rule files' globals are read-only, so
-- evaluating one case cannot change how the next one is evaluated.
---------------------------------------------------------------------------------------------

-- freeze(t): make t and every table it holds read-only, in place (the rules' own closures
-- keep working on the same tables, which from now on refuse any change).
local function freeze(t, seen)
  if type(t) ~= "table" or t == UNKNOWN or seen[t] then return end
  seen[t] = true
  BOUNDED_SET[t] = nil   -- a frozen value is no longer a bounded one (its metatable changes)
  local inner = {}
  for k, v in pairs(t) do inner[k] = v end
  for k in pairs(inner) do
    t[k] = nil
    freeze(inner[k], seen)
  end
  setmetatable(t, {
    __index = inner,
    __newindex = function(_, k) error("rule definitions are read-only (tried to set '" .. tostring(k) .. "')", 2) end,
    __len = function() return #inner end,
    __pairs = function() return next, inner, nil end,
    __metatable = "frozen",
  })
end

local function lock_env(env)
  local backing = {}
  for k, v in pairs(env) do backing[k] = v end
  for k in pairs(backing) do env[k] = nil end
  setmetatable(env, {
    __index = backing,
    __newindex = function(_, k)
      error("rule files cannot set globals once the rule set is loaded (tried '" .. tostring(k) .. "')", 2)
    end,
  })
end

---------------------------------------------------------------------------------------------
-- P.install, P.finish, P.evaluate
---------------------------------------------------------------------------------------------

local installed_env

local VOCABULARY = {
  -- scoring tables
  score = score, item = item, row = row, bands = bands, band = band,
  classification = classification,
  -- row conditions
  levels = levels, in_levels = in_levels, one_of = one_of, at_least = at_least, at_most = at_most,
  above = above, below = below, between = between,
  -- inputs
  result = result, value_of = value_of, value_between = value_between,
  value_at_least = value_at_least, segment_of = segment_of, unknown = UNKNOWN,
  -- conditions
  is = is, is_one_of = is_one_of, is_true = is_true, is_below = is_below,
  is_at_most = is_at_most, is_at_least = is_at_least, includes_any = includes_any,
  any_of = any_of, all_of = all_of, negate = negate, for_any = for_any,
  score_at_least = score_at_least, band_start = band_start, status_of = status_of,
  -- contraindications and decisions
  contraindication = contraindication, any_contraindication = any_contraindication,
  decision = decision, step = step, band_of = band_of, band_is = band_is,
  -- findings and risks
  findings = findings, check = check, risk = risk, factor = factor,
}

function P.install(env)
  for k, v in pairs(VOCABULARY) do env[k] = v end
  installed_env = env
end

P.warnings = {}

-- every integer total a score can reach (items are independent, so a total t is reachable
-- when t can be written as a sum of one row's points per item).
local function reachable_totals(s)
  local sums = { [0] = true }
  for _, it in ipairs(s.items) do
    local next_sums = {}
    for total in pairs(sums) do
      for _, r in ipairs(it.rows) do next_sums[total + r.points] = true end
    end
    sums = next_sums
  end
  return sums
end

-- The facts P.finish records about a score: bands no total can reach (P.warnings). Gaps and
-- overlaps of rows and bands are errors found by the host's checker (engine/lint.lua), which
-- runs on every rule set when it is opened and reports them all, with their positions.
local function check_score(s)
  local reach = reachable_totals(s)
  for _, b in ipairs(s.bands) do
    for _, x in ipairs(b.list) do
      local hit = false
      for t in pairs(reach) do if t >= x.lo and t <= x.hi then hit = true; break end end
      if not hit then
        P.warnings[#P.warnings + 1] = string.format(
          "%s warning: band '%s' of '%s.%s' cannot be reached: the totals of this table run from %d to %d",
          x.pos, x.id, s.name, b.name, s.min, s.max)
      end
    end
  end
end

---------------------------------------------------------------------------------------------
-- Compiling: P.finish turns each output into one function(case, results) over plain tables.
-- What every case needs (the rows' tests and points, a lookup from value to row, the labels,
-- the band found for a range of totals) is read once here from the finished definitions, so
-- that an evaluation reads no frozen table and builds no table it does not return. Each
-- function gives what the definitions' own reading gives (item_entry and lookup above are
-- that reading, and still answer the rare cases: bounded and unmatched values, odd rows).
---------------------------------------------------------------------------------------------

-- constant(t): a frozen table reading t, to be held by every result that needs it. A result
-- that reads the same rows as another holds the same tables: they are built once, and the host
-- shares what it makes of them (engine/sandbox.c, sr_sandbox_check_result) from one case to
-- the next. Made like freeze() makes them (the host knows them by the same metatable), without
-- copying t; a table inside t must be a constant already. Tables holding null are not made
-- constant (the host copies those for every result anyway), nor empty lists (a frozen table
-- loses the mark of a list).
local function read_only(_, k)
  error("rule definitions are read-only (tried to set '" .. tostring(k) .. "')", 2)
end
local function constant(t)
  return setmetatable({}, {
    __index = t,
    __newindex = read_only,
    __len = function() return #t end,
    __pairs = function() return next, t, nil end,
    __metatable = "frozen",
  })
end

-- A table constructor's fields size the table even when their value is nil (no key is made):
-- the constructors below name, as nil, the fields added after them, or `_1`.. placeholders
-- for keys named by the rule set, and lists hold nils for the elements to come (a list's
-- length is still the number of elements set), so that a result is not resized as it is
-- filled.

local CONSTANTS_PER_TABLE = 256   -- values kept per item or classification (any integer may come)
local math_type = math.type

-- The tests of rows (a list of row definitions), in order, and a lookup from string and
-- boolean values to the index of the first row taking them, built while every test before
-- is known (TEST_KIND); a value the lookup lacks goes through the tests: a numeric test
-- through its limits, a set's through a copy of its set, any other is called.
local function compile_rows(rows)
  local R = { tests = {}, map = {}, n = 0, los = {}, his = {}, sets = {} }
  local tests, map, n = R.tests, R.map, 0
  local mapping = true
  for _, r in ipairs(rows) do
    n = n + 1
    local m = r.when
    local test = type(m) == "table" and m.test or nil
    tests[n] = test
    local kind = TEST_KIND[test]
    if kind and kind.number then
      R.los[n], R.his[n] = kind.lo, kind.hi
    elseif kind and kind.set then
      local set = {}
      for k, v in pairs(kind.set) do set[k] = v end
      R.sets[n] = set
    end
    if mapping then
      if kind == nil then
        mapping = false
      elseif kind.literal ~= nil then
        if map[kind.literal] == nil then map[kind.literal] = n end
      elseif kind.set then
        for k, v in pairs(kind.set) do
          local tk = type(k)
          if v == true and (tk == "string" or tk == "boolean") and map[k] == nil then map[k] = n end
        end
      end
    end
  end
  R.n = n
  return R
end

-- The index of the first row that takes value (rows compiled by compile_rows), or nil; and
-- whether every value equal to it takes the same row with the same output (not so for 1 and
-- 1.0), so that its entry may be kept.
local function find_row(R, value)
  local i = R.map[value]
  if i ~= nil then return i, true end
  local mt = math_type(value)   -- (nil for anything but a number)
  local los, his, sets, tests = R.los, R.his, R.sets, R.tests
  for j = 1, R.n do
    local lo = los[j]
    if lo ~= nil then
      if mt ~= nil and value >= lo and value <= his[j] then return j, mt == "integer" end
    else
      local set = sets[j]
      if set ~= nil then
        if set[value] == true then return j, mt == "integer" end
      elseif tests[j](value) then
        return j, mt == "integer"
      end
    end
  end
  return nil, false
end

-- item: function(subject, case, results) -> lo, hi, entry, points
local function compile_item(it)
  local input = it.input   -- a path or a function (item checks it)
  local read_path = type(input) == "string" and getter(input) or nil
  local R = compile_rows(it.rows)
  local tests, n = R.tests, R.n
  local defs, points, row_fr, row_en, row_source = {}, {}, {}, {}, {}
  local whole = n > 0
  local lo_all, hi_all = INF, -INF
  for i, r in ipairs(it.rows) do
    local p = r.points
    defs[i], points[i], row_fr[i], row_en[i], row_source[i] = r, p, r.fr, r.en, r.source
    if math.type(p) ~= "integer" or tests[i] == nil then
      whole = false
    else
      if p < lo_all then lo_all = p end
      if p > hi_all then hi_all = p end
    end
  end
  local fr, en, source = it.fr, it.en, it.source
  local range_all        -- [lo_all, hi_all] (constant), made when first needed
  local row_labels = {}   -- row -> { fr, en } (constant), made when first needed
  local kept, nkept = {}, 0   -- value -> its entry (constant), for values read without a note
  -- The entries kept for values other than numbers (1.0 would find 1's), and their points:
  -- found first, without the row's lookup, when nothing is being covered.
  local kept_other, kept_points = {}, {}
  return function(subject, case, results)
    local value, note
    if read_path then
      value = read_path(subject)
    else
      value, note = input(subject, case, results)
      if value == NULL or value == UNKNOWN then value = nil end
    end
    if not note and not COVERAGE then
      local entry = kept_other[value]
      if entry then
        local p = kept_points[value]
        return p, p, entry, p
      end
    end
    if whole then
      if value ~= nil and not BOUNDED_SET[value] then
        local i, same = find_row(R, value)
        if i ~= nil then
          local p = points[i]
          if COVERAGE then cover(defs[i], "row") end
          local entry = same and not note and kept[value]
          if entry then return p, p, entry, p end
          local labels = row_labels[i]
          if not labels then
            labels = constant({ fr = row_fr[i], en = row_en[i] })
            row_labels[i] = labels
          end
          entry = { fr = fr, en = en, source = row_source[i], value = value, points = p, row = labels,
                    note = nil }
          if note then
            entry.note = note
          elseif same and nkept < CONSTANTS_PER_TABLE then
            entry = constant(entry)
            kept[value] = entry
            nkept = nkept + 1
            if type(value) ~= "number" then kept_other[value], kept_points[value] = entry, p end
          end
          return p, p, entry, p
        end
      elseif value == nil then
        if not range_all then range_all = constant(array({ lo_all, hi_all })) end
        local entry = { fr = fr, en = en, source = source, value = NULL, points = NULL, row = NULL,
                        unknown = true, range = range_all }
        if note then entry.note = note end
        return lo_all, hi_all, entry, NULL
      end
    end
    local lo, hi, entry = item_entry(it, value, note)
    return lo, hi, entry, entry.points
  end
end

-- bands: function(lo, hi) -> band id, detail; the band a range of totals falls in is looked up
-- once per range (lookup) and kept.
local function compile_bands(b)
  local found_at = {}   -- lo -> hi -> what lookup answers, read once
  local bsource = b.source
  return function(lo, hi)
    local at_lo = found_at[lo]
    local hit = at_lo and at_lo[hi]
    if not hit then
      local found, candidates = lookup(b, lo, hi)
      hit = { id = found.id, fr = found.fr, en = found.en, source = found.source or bsource,
              lo = found.lo, hi = found.hi, candidates = found == INDETERMINATE and candidates or nil }
      if lo == lo and hi == hi then   -- (NaN is no key)
        if not at_lo then at_lo = {}; found_at[lo] = at_lo end
        at_lo[hi] = hit
        if hit.candidates and #hit.candidates > 0 then
          local list = array()
          for i = 1, #hit.candidates do list[i] = hit.candidates[i] end
          hit.detail = constant({ fr = hit.fr, en = hit.en, source = hit.source, candidates = constant(list) })
        elseif not hit.candidates and hit.lo ~= -INF and hit.hi ~= INF then
          hit.detail = constant({ fr = hit.fr, en = hit.en, source = hit.source,
                                  range = constant(band_range_array(hit.lo, hit.hi)) })
        end
      end
    end
    if COVERAGE then cover(b, hit.id) end
    if hit.detail then return hit.id, hit.detail end
    local detail = { fr = hit.fr, en = hit.en, source = hit.source }
    local candidates = hit.candidates
    if candidates then
      local list = array()
      for i = 1, #candidates do list[i] = candidates[i] end
      detail.candidates = list
    else
      detail.range = band_range_array(hit.lo, hit.hi)
    end
    return hit.id, detail
  end
end

local function compile_score(s)
  local items, names, n = {}, {}, 0
  for _, it in ipairs(s.items) do
    n = n + 1
    items[n], names[n] = compile_item(it), it.name
  end
  local bands, band_names, nb = {}, {}, 0
  for _, b in ipairs(s.bands) do
    nb = nb + 1
    bands[nb], band_names[nb] = compile_bands(b), b.name
  end
  local fr, en, source, key = s.fr, s.en, s.source, s.key
  local get_key = key and getter(key)
  local function evaluate_one(subject, case, results)
    local out = { fr = fr, en = en, source = source, min = nil, max = nil, total = nil, points = nil,
                  items = nil, bands = nil, _1 = nil, _2 = nil, _3 = nil }
    if key then out[key] = get_key(subject) or NULL end
    local points = { _1 = nil, _2 = nil, _3 = nil, _4 = nil, _5 = nil, _6 = nil, _7 = nil, _8 = nil }
    local entries = { _1 = nil, _2 = nil, _3 = nil, _4 = nil, _5 = nil, _6 = nil, _7 = nil, _8 = nil }
    local lo, hi = 0, 0
    for i = 1, n do
      local ilo, ihi, entry, p = items[i](subject, case, results)
      lo, hi = lo + ilo, hi + ihi
      local name = names[i]
      points[name] = p
      entries[name] = entry
    end
    out.min, out.max = lo, hi
    out.total = (lo == hi) and lo or NULL
    out.points, out.items = points, entries
    out.bands = { _1 = nil, _2 = nil }
    for j = 1, nb do
      local id, detail = bands[j](lo, hi)
      local name = band_names[j]
      out[name] = id
      out.bands[name] = detail
    end
    return out
  end
  local each = s.each
  if not each then
    return function(case, results) return evaluate_one(case, case, results) end
  end
  local get_each = getter(each)
  return function(case, results)
    local list = get_each(case)
    local out = setmetatable({}, ARRAY_MT)
    if type(list) == "table" then
      local i, element = 1, list[1]
      while element ~= nil do
        out[i] = evaluate_one(element, case, results)
        i = i + 1
        element = list[i]
      end
    end
    return out
  end
end

local function compile_classification(c)
  local read_value = reader(c.input)
  local R = compile_rows(c.rows)
  local defs, classes, row_fr, row_en, row_source = {}, {}, {}, {}, {}
  local value_key, gives, unknown, source = c.value_key, c.gives, c.unknown, c.source
  for i, r in ipairs(c.rows) do
    defs[i], classes[i], row_fr[i], row_en[i], row_source[i] = r, r.attrs[gives], r.fr, r.en, r.source
  end
  local kept, nkept = {}, 0   -- value -> its result (constant)
  return function(case, results)
    local value = read_value(case, case, results)
    if value ~= nil and not BOUNDED_SET[value] then
      local i, same = find_row(R, value)
      if i ~= nil then
        if COVERAGE then cover(defs[i], "row") end
        local out = same and kept[value]
        if out then return out end
        out = { source = source }
        out[value_key], out[gives] = value, classes[i]
        out.fr, out.en, out.source = row_fr[i], row_en[i], row_source[i]
        if same and nkept < CONSTANTS_PER_TABLE then
          out = constant(out)
          kept[value] = out
          nkept = nkept + 1
        end
        return out
      end
    end
    local out = { source = source, fr = nil, en = nil, _1 = nil, _2 = nil }
    out[value_key], out[gives] = NULL, unknown
    out.fr, out.en = "non renseigné", "not given"
    if COVERAGE then cover(c, "unknown") end
    return out
  end
end

local function compile_contraindications(list)
  local E, n = {}, 0
  for _, c in ipairs(list.entries) do
    n = n + 1
    E[n] = { def = c, when = c.when, relative_when = c.relative_when, kind = c.kind, id = c.id, fr = c.fr,
             en = c.en, source = c.source,
             entries = {} }   -- kind -> status -> the entry (constant), made when first needed
  end
  return function(case, results)
    local out = setmetatable({ nil, nil, nil, nil, nil, nil, nil, nil }, ARRAY_MT)
    for i = 1, n do
      local c = E[i]
      local kind = c.kind
      local relative_when = c.relative_when
      if relative_when and relative_when(case, case, results) == true then
        kind = "relative"
      end
      local v = c.when(case, case, results)   -- (nil and null read as unknown)
      local status = (v == true and "present") or (v == false and "absent") or "unknown"
      local of_kind = c.entries[kind]
      if not of_kind then of_kind = {}; c.entries[kind] = of_kind end
      local entry = of_kind[status]
      if not entry then
        entry = constant({ id = c.id, status = status, kind = kind, fr = c.fr, en = c.en, source = c.source })
        of_kind[status] = entry
      end
      out[i] = entry
      if COVERAGE then cover(c.def, status); cover(c.def, "kind " .. kind) end
    end
    return out
  end
end

local function compile_decision(d)
  local S, n = {}, 0
  for _, s in ipairs(d.steps) do
    n = n + 1
    S[n] = { def = s, when = s.when, gives = s.gives, computed = type(s.gives) == "function",
             number = s.number, id = s.id, fr = s.fr, en = s.en, source = s.source,
             reason = nil, caveat = nil }   -- (constants, made when first needed)
  end
  local name = d.name
  local reason_key, caveats_key = name .. "_reason", name .. "_caveats"
  return function(case, results)
    local caveats, nc = setmetatable({}, ARRAY_MT), 0
    for i = 1, n do
      local s = S[i]
      local when = s.when
      local v = true   -- (no condition always holds; nil and null read as unknown)
      if when ~= nil then v = when(case, case, results) end
      if v == true then
        local outcome = s.gives
        if s.computed then outcome = read(outcome, case, case, results) end
        if outcome == nil then outcome = "indeterminate" end
        if COVERAGE then cover(s.def, outcome) end
        local reason = s.reason
        if not reason then
          reason = constant({ step = s.number, id = s.id, fr = s.fr, en = s.en, source = s.source })
          s.reason = reason
        end
        results[reason_key] = reason
        results[caveats_key] = caveats
        return outcome
      elseif v ~= false then
        nc = nc + 1
        local caveat = s.caveat
        if not caveat then
          caveat = constant({ step = s.number, id = s.id, status = "unknown", fr = s.fr, en = s.en,
                              source = s.source })
          s.caveat = caveat
        end
        caveats[nc] = caveat
      end
    end
    error("decision '" .. name .. "': no step applied")   -- cannot happen: the last step always applies
  end
end

-- Lists of element keys (the levels a per-element check names), kept as constants: a trie
-- from each key in turn to the next node, the list at LIST_END. Only strings are kept as
-- keys (1 and 1.0 would be one key of a table, and a table key is new on every case), so a
-- lookup with any other key finds no list. At most MAX_KEPT_LISTS lists in all.
local LIST_END = {}   -- (no value read from a case is this table)
local MAX_KEPT_LISTS = 1024
local kept_lists, n_kept_lists = {}, 0

-- key_list(keys, n, fresh): the list of keys[1..n] (n > 0), constant when every key is a
-- string (and room is left), else a new list unless fresh is false (then nil).
local function key_list(keys, n, fresh)
  local node = kept_lists
  for j = 1, n do
    node = node[keys[j]]
    if not node then break end
  end
  local list = node and node[LIST_END]
  if list then return list end
  local keep = n_kept_lists < MAX_KEPT_LISTS
  for j = 1, n do
    if not keep then break end
    keep = type(keys[j]) == "string"
  end
  if not keep and not fresh then return nil end
  list = setmetatable({ nil, nil }, ARRAY_MT)
  for j = 1, n do list[j] = keys[j] end
  if not keep then return list end
  node = kept_lists
  for j = 1, n do
    local k = keys[j]
    local child = node[k]
    if not child then child = {}; node[k] = child end
    node = child
  end
  list = constant(list)
  node[LIST_END] = list
  n_kept_lists = n_kept_lists + 1
  return list
end

local NO_LIST = {}   -- (stands for "no possible elements" as a key)

-- checks (findings) and factors (risk): function(case, results) -> entry
local function compile_check(c, words)
  local yes, no, unknown = status_words(words)
  local id, when, fr, en, source = c.id, c.when, c.fr, c.en, c.source
  if not c.each then
    local entries = {}   -- 1 holds, 2 does not, 3 unknown -> the entry (constant)
    local function entry_of(k)
      local entry = constant({ id = id, fr = fr, en = en, source = source,
                               status = (k == 1 and yes) or (k == 2 and no) or unknown })
      entries[k] = entry
      return entry
    end
    if when == nil then   -- always holds
      return function() return entries[1] or entry_of(1) end
    end
    return function(case, results)
      local v = when(case, case, results)   -- (nil and null read as unknown)
      local k = (v == true and 1) or (v == false and 2) or 3
      return entries[k] or entry_of(k)
    end
  end
  -- Per element: the check holds if it holds for one element; the elements where it holds
  -- (or may hold) are named by their key (e.g. the lesion's level). An entry that names
  -- where it holds is a constant, kept per list of keys (key_list) up to
  -- CONSTANTS_PER_TABLE; one that names none holds an empty list, which a constant cannot
  -- hold (it would lose the mark of a list), and is made anew.
  local each = c.each
  local list_getter = type(each) == "string" and getter(each) or nil
  local list_reader = not list_getter and type(each) ~= "function" and reader(each) or nil
  local key = c.key
  local get_key = key and getter(key)
  local plural = (key or "element") .. "s"
  local possible_plural = "possible_" .. plural
  local has_when = when ~= nil
  local yes_keys, maybe_keys = {}, {}   -- the keys found by the evaluation under way
  local kept, nkept = {}, 0   -- list where it holds -> list where it may (or NO_LIST) -> entry
  return function(case, results)
    local list
    if list_getter then
      list = list_getter(case)
    elseif list_reader then
      list = list_reader(case, case, results)
    else
      list = each(case, case, results)
      if list == UNKNOWN then list = nil end
    end
    local count, ny, nm = 0, 0, 0
    if list == LIST or type(list) == "table" then   -- (every check of a case reads one list)
      LIST = list
      local i, element = 1, list[1]
      while element ~= nil do
        local v = true
        if has_when then v = when(element, case, results) end   -- (nil and null: unknown)
        count = i
        if v == true then
          ny = ny + 1
          yes_keys[ny] = key and get_key(element) or i
        elseif v ~= false then
          nm = nm + 1
          maybe_keys[nm] = key and get_key(element) or i
        elseif TRACE and key then
          get_key(element)   -- (the key of an element where it does not hold is not used)
        end
        i = i + 1
        element = list[i]
      end
    end
    local where_maybe = nm > 0 and key_list(maybe_keys, nm, true) or nil
    if ny == 0 then
      return { id = id, fr = fr, en = en, source = source,
               status = (count == 0 or nm > 0) and unknown or no,
               [plural] = setmetatable({}, ARRAY_MT), [possible_plural] = where_maybe }
    end
    local where_yes = key_list(yes_keys, ny, false)
    local entry
    if where_yes and (nm == 0 or getmetatable(where_maybe) == "frozen") then
      local by_maybe = kept[where_yes]
      entry = by_maybe and by_maybe[where_maybe or NO_LIST]
      if entry then return entry end
      entry = { id = id, fr = fr, en = en, source = source, status = yes,
                [plural] = where_yes, [possible_plural] = where_maybe }
      if nkept < CONSTANTS_PER_TABLE then
        entry = constant(entry)
        if not by_maybe then by_maybe = {}; kept[where_yes] = by_maybe end
        by_maybe[where_maybe or NO_LIST] = entry
        nkept = nkept + 1
      end
      return entry
    end
    return { id = id, fr = fr, en = en, source = source, status = yes,
             [plural] = where_yes or key_list(yes_keys, ny, true), [possible_plural] = where_maybe }
  end
end

local function compile_findings(f)
  local checks, n = {}, 0
  for _, c in ipairs(f.checks) do
    n = n + 1
    checks[n] = compile_check(c, f.words)
  end
  local all = f.list == "all"
  local _, no = status_words(f.words)
  return function(case, results)
    local out, m = setmetatable({ nil, nil, nil, nil, nil, nil, nil, nil }, ARRAY_MT), 0
    for i = 1, n do
      local entry = checks[i](case, results)
      if all or entry.status ~= no then
        m = m + 1
        out[m] = entry
      end
    end
    return out
  end
end

local function compile_risk(rk)
  local factors, n = {}, 0
  for _, f in ipairs(rk.factors) do
    n = n + 1
    factors[n] = compile_check(f, nil)
  end
  local fr, en, source, base, raised_percent = rk.fr, rk.en, rk.source, rk.base, rk.raised
  local raised_when = rk.raised_when
  local raised_fr, raised_en = rk.raised_fr, rk.raised_en
  local raised_by = {}   -- status -> raised_by (constant), made when first needed
  return function(case, results)
    local out = { fr = fr, en = en, source = source, base_percent = nil, range = nil, raised_by = nil,
                  factors = nil }
    local raised = false   -- (raised in no situation without raised_when)
    if raised_when ~= nil then
      raised = raised_when(case, case, results)
      if raised ~= true and raised ~= false then raised = UNKNOWN end
    end
    if raised == true then out.base_percent = raised_percent
    elseif raised == false then out.base_percent = base
    else
      out.base_percent = NULL
      out.range = setmetatable({ math.min(base, raised_percent), math.max(base, raised_percent) }, ARRAY_MT)
    end
    local status = (raised == true and "present") or (raised == false and "absent") or "unknown"
    local by = raised_by[status]
    if not by then
      by = constant({ status = status, fr = raised_fr, en = raised_en, source = source })
      raised_by[status] = by
    end
    out.raised_by = by
    local list = setmetatable({ nil, nil, nil, nil }, ARRAY_MT)
    for i = 1, n do list[i] = factors[i](case, results) end
    out.factors = list
    return out
  end
end

local COMPILERS = {
  score = compile_score, classification = compile_classification,
  contraindications = compile_contraindications, decision = compile_decision,
  findings = compile_findings, risk = compile_risk,
}

local plan_names, plan_runs, plan_size = {}, {}, 0   -- the compiled outputs, in order

local function compile_outputs()
  for _, o in ipairs(outputs) do
    plan_size = plan_size + 1
    plan_names[plan_size], plan_runs[plan_size] = o.name, COMPILERS[o.kind](o)
  end
end

-- The outputs result format v1 requires (SPEC section 5).
local CORE_OUTPUTS = { "frankel", "sins", "tokuhashi", "contraindications", "recommendation" }

function P.finish()
  if finished then error("P.finish called twice", 0) end
  for _, name in ipairs(CORE_OUTPUTS) do
    if not output_by_name[name] then
      error(string.format("rule set incomplete: no rule file defines '%s' (result format v1)", name), 0)
    end
  end
  local position = {}
  for i, o in ipairs(outputs) do position[o.name] = i end
  for fn, dep in pairs(DEPENDS) do
    if not output_by_name[dep.name] then
      fail(dep.pos, "reads the result '%s', which no rule file defines", dep.name)
    end
  end
  for i, o in ipairs(outputs) do
    if o.kind == "score" then check_score(o) end
  end
  -- a rule may only read results of files listed before it in the manifest
  for fn, dep in pairs(DEPENDS) do
    local reader
    for _, o in ipairs(outputs) do
      if o.pos and dep.pos and o.pos:match("^(.-):%d+:") == dep.pos:match("^(.-):%d+:") then reader = o; break end
    end
    if reader and position[dep.name] > position[reader.name] then
      fail(dep.pos, "reads the result '%s', computed later: list its file earlier in the manifest", dep.name)
    end
  end
  table.sort(P.warnings)
  compile_outputs()
  finished = true
  local seen = {}
  for _, o in ipairs(outputs) do freeze(o, seen) end
  if installed_env then lock_env(installed_env) end
end

function P.evaluate(case)
  if not finished then error("P.evaluate called before P.finish", 0) end
  local results = { _1 = nil, _2 = nil, _3 = nil, _4 = nil, _5 = nil, _6 = nil, _7 = nil, _8 = nil,
                    _9 = nil, _10 = nil, _11 = nil, _12 = nil }   -- sized (see constant() above)
  if type(case) == "table" then CASE = case end   -- (see getter)
  RESULTS = results
  for i = 1, plan_size do
    results[plan_names[i]] = plan_runs[i](case, results)
  end
  CASE, RESULTS, LAST, LIST = NOT_A_TABLE, NOT_A_TABLE, NOT_A_TABLE, NOT_A_TABLE
  return results
end

---------------------------------------------------------------------------------------------
-- P.describe(): the rule set's structure as plain data, for tools (`spinerules diff` compares
-- two versions through it). No functions and no cycles: a condition becomes a sentence
-- ("patient.karnofsky <= 40"), a row condition its label, a band its limits; `pos` says where
-- each element is defined ("file:line"). Shape, in the order the outputs are computed:
--   { api_level, outputs = [ { name, kind, pos, ... } ] } with, by kind,
--   score:             fr, en, source, each, key, min, max,
--                      items = [ { name, fr, en, source, pos, input, min, max,
--                                  rows = [ { when, points, fr, en, source, pos } ] } ],
--                      bands = [ { name, source, pos,
--                                  list = [ { id, from, to, limits, fr, en, source, pos } ] } ]
--   classification:    fr, en, source, input, value_key, gives, unknown,
--                      rows = [ { when, class, fr, en, source, pos } ]
--   contraindications: entries = [ { id, kind, when, relative_when, fr, en, source, pos } ]
--   decision:          source, steps = [ { number, id, when, gives, fr, en, source, pos } ]
--   findings:          source, list, statuses = { yes, no, unknown },
--                      checks = [ { id, when, each, key, fr, en, source, pos } ]
--   risk:              fr, en, source, base_percent, raised_percent, raised_when, raised_fr,
--                      raised_en, factors = [ { id, when, each, key, fr, en, source, pos } ]
-- A band's `from`/`to` are absent on an open side; `limits` reads "6-9", ">= 10" or "<= 5".
---------------------------------------------------------------------------------------------

local RULE_FUNCTION = "(a function of the rule file)"

local function list_text(list)
  local parts = {}
  for i, v in ipairs(list) do parts[i] = tostring(v) end
  return table.concat(parts, ", ")
end

-- how(fn): what an accessor or a condition reads, as a sentence (nil for no condition).
local function how(fn)
  if fn == nil then return nil end
  if type(fn) == "string" then return fn end
  local d = DESC[fn]
  if not d then return RULE_FUNCTION end
  local op = d.op
  if op == "result" then return "result " .. d[1] end
  if op == "is" then return how(d[1]) .. " is " .. tostring(d[2]) end
  if op == "is_one_of" then return how(d[1]) .. " is one of " .. list_text(d[2]) end
  if op == "<" or op == "<=" or op == ">=" then return how(d[1]) .. " " .. op .. " " .. tostring(d[2]) end
  if op == "includes_any" then return how(d[1]) .. " includes any of " .. list_text(d[2]) end
  if op == "any_of" or op == "all_of" then
    local parts = {}
    for i, c in ipairs(d[1]) do parts[i] = how(c) or "always" end
    return (op == "any_of" and "any of (" or "all of (") .. table.concat(parts, "; ") .. ")"
  end
  if op == "not" then return "not (" .. (how(d[1]) or "always") .. ")" end
  if op == "for_any" then return "for any of " .. how(d[1]) .. ": " .. (how(d[2]) or "always") end
  if op == "score_at_least" then return "score >= " .. tostring(d[1]) end
  if op == "in_levels" then return how(d[1]) .. " in " .. tostring(d[2]) end
  if op == "status_of" then return d[1] .. "." .. d[2] .. " is present" end
  if op == "any_contraindication" then
    return (d[1]:match("^[aeiou]") and "an " or "a ") .. d[1] .. " contraindication is present"
  end
  if op == "band_of" then return d[1] .. "." .. d[2] end
  if op == "band_is" then return d[1] .. "." .. d[2] .. " is " .. d[3] end
  return RULE_FUNCTION
end

-- row_when(matcher): the label of a row condition ("lung", ">= 3", "1-2", "T3-T10").
local function row_when(m)
  if m.label ~= nil then return tostring(m.label) end
  if m.literal ~= nil then return tostring(m.literal) end
  if m.list then return "one of " .. list_text(m.list) end
  return RULE_FUNCTION
end

local function limits_text(lo, hi)
  if lo == -INF and hi == INF then return "any" end
  if lo == -INF then return "<= " .. hi end
  if hi == INF then return ">= " .. lo end
  if lo == hi then return tostring(lo) end
  return lo .. "-" .. hi
end

local function pos_of(pos)
  if pos then return at(pos) end
  return nil
end

local function describe_checks(list)
  local out = array()
  for i, c in ipairs(list) do
    out[i] = { id = c.id, when = how(c.when) or "always", each = how(c.each), key = c.key,
               fr = c.fr, en = c.en, source = c.source, pos = pos_of(c.pos) }
  end
  return out
end

local function describe_output(o)
  local d = { name = o.name, kind = o.kind, fr = o.fr, en = o.en, source = o.source, pos = pos_of(o.pos) }
  if o.kind == "score" then
    d.each, d.key, d.min, d.max, d.declared_max = how(o.each), o.key, o.min, o.max, o.declared_max
    d.items, d.bands = array(), array()
    for i, it in ipairs(o.items) do
      local rows = array()
      for j, r in ipairs(it.rows) do
        rows[j] = { when = row_when(r.when), points = r.points, fr = r.fr, en = r.en,
                    source = r.source, pos = pos_of(r.pos) }
      end
      d.items[i] = { name = it.name, fr = it.fr, en = it.en, source = it.source, pos = pos_of(it.pos),
                     input = how(it.input), min = it.min, max = it.max, declared_max = it.declared_max,
                     rows = rows }
    end
    for i, b in ipairs(o.bands) do
      local list = array()
      for j, x in ipairs(b.list) do
        list[j] = { id = x.id, from = x.lo ~= -INF and x.lo or nil, to = x.hi ~= INF and x.hi or nil,
                    limits = limits_text(x.lo, x.hi), fr = x.fr, en = x.en, source = x.source,
                    pos = pos_of(x.pos) }
      end
      d.bands[i] = { name = b.name, source = b.source, pos = pos_of(b.pos), list = list }
    end
  elseif o.kind == "classification" then
    d.input, d.value_key, d.gives, d.unknown = how(o.input), o.value_key, o.gives, o.unknown
    d.rows = array()
    for i, r in ipairs(o.rows) do
      d.rows[i] = { when = row_when(r.when), class = r.attrs[o.gives], fr = r.fr, en = r.en,
                    source = r.source, pos = pos_of(r.pos) }
    end
  elseif o.kind == "contraindications" then
    d.entries = array()
    for i, c in ipairs(o.entries) do
      d.entries[i] = { id = c.id, kind = c.kind, when = how(c.when), relative_when = how(c.relative_when),
                       fr = c.fr, en = c.en, source = c.source, pos = pos_of(c.pos) }
    end
  elseif o.kind == "decision" then
    d.steps = array()
    for i, s in ipairs(o.steps) do
      d.steps[i] = { number = s.number, id = s.id, when = how(s.when), gives = how(s.gives),
                     fr = s.fr, en = s.en, source = s.source, pos = pos_of(s.pos) }
    end
  elseif o.kind == "findings" then
    d.list = o.list
    d.statuses = { yes = o.words.yes or "present", no = o.words.no or "absent",
                   unknown = o.words.unknown or "unknown" }
    d.checks = describe_checks(o.checks)
  elseif o.kind == "risk" then
    d.base_percent, d.raised_percent = o.base, o.raised
    d.raised_when, d.raised_fr, d.raised_en = how(o.raised_when), o.raised_fr, o.raised_en
    d.factors = describe_checks(o.factors)
  end
  return d
end

function P.describe()
  local out = array()
  for i, o in ipairs(outputs) do out[i] = describe_output(o) end
  return { api_level = P.api_level, outputs = out }
end

---------------------------------------------------------------------------------------------
-- Coverage (`spinerules verify --coverage`): which table rows, bands, contraindication
-- branches and decision paths the golden cases reach, and which no case can reach at all.
--   P.coverage_start()   records from now on what each evaluation reaches
--   P.coverage_report()  every point: { category, id, pos, reached, reachable, why }
-- Reachability comes from the structure: a row whose values earlier rows of its table all
-- take is shadowed; a band holds no total the table's rows can add up to; `indeterminate`
-- needs two reachable bands; a contraindication takes its relative kind only with a
-- `relative_when`; a decision step whose condition needs an unreachable band, or a kind no
-- contraindication takes, is never taken. Conditions written as rule-file functions are
-- assumed able to give every answer.
---------------------------------------------------------------------------------------------

function P.coverage_start()
  COVERAGE = {}
end

-- shadowed(rows, j): the earlier row that takes every value row j stands for, or nil.
local function shadowed(rows, j)
  local m = rows[j].when
  if m.custom then return nil end
  local earlier = {}
  for i = 1, j - 1 do
    if not rows[i].when.custom then earlier[#earlier + 1] = rows[i] end
  end
  if #earlier == 0 then return nil end
  local function taker(v)
    for _, r in ipairs(earlier) do if r.when.test(v) then return r end end
    return nil
  end
  if m.lo ~= nil then   -- numeric: the earlier numeric rows must cover [lo, hi] (whole values)
    local spans = {}
    for _, r in ipairs(earlier) do
      if r.when.lo ~= nil then spans[#spans + 1] = r end
    end
    table.sort(spans, function(a, b) return a.when.lo < b.when.lo end)
    local from, last = m.lo, nil
    for _, r in ipairs(spans) do
      if r.when.lo <= from and r.when.hi >= from then
        last = r
        if r.when.hi >= m.hi then return last end
        from = r.when.hi + 1
      end
    end
    return nil
  end
  local values = m.list or { m.literal }
  local last
  for _, v in ipairs(values) do
    last = taker(v)
    if not last then return nil end
  end
  return last
end

-- The totals a score's reachable rows can add up to, with their smallest and largest.
local function score_totals(s, row_ok)
  local sums = { [0] = true }
  for _, it in ipairs(s.items) do
    local next_sums = {}
    for total in pairs(sums) do
      for _, r in ipairs(it.rows) do
        if row_ok[r] then next_sums[total + r.points] = true end
      end
    end
    sums = next_sums
  end
  local lo, hi = INF, -INF
  for t in pairs(sums) do
    if t < lo then lo = t end
    if t > hi then hi = t end
  end
  return sums, lo, hi
end

function P.coverage_report()
  local seen = COVERAGE or {}
  local points = array()
  local function add(category, id, obj, what, pos, reachable, why)
    points[#points + 1] = { category = category, id = id, pos = pos_of(pos),
                            reached = (seen[obj] or {})[what] == true,
                            reachable = reachable, why = (not reachable) and why or nil }
  end
  local row_ok, band_ok, bands_of_score = {}, {}, {}
  local kinds = {}   -- kinds some contraindication can take
  local function add_rows(prefix, rows)
    for j, r in ipairs(rows) do
      local by = shadowed(rows, j)
      row_ok[r] = by == nil
      add("row", prefix .. " row " .. row_when(r.when), r, "row", r.pos, by == nil,
          by and ("shadowed: the row at " .. at(by.pos) .. " takes every value it stands for"))
    end
  end
  for _, o in ipairs(outputs) do
    if o.kind == "score" then
      for _, it in ipairs(o.items) do add_rows(o.name .. "." .. it.name, it.rows) end
      local sums, lo, hi = score_totals(o, row_ok)
      bands_of_score[o.name] = {}
      for _, b in ipairs(o.bands) do
        bands_of_score[o.name][b.name] = b
        local reachable_count = 0
        for _, x in ipairs(b.list) do
          local ok = false
          for t in pairs(sums) do if t >= x.lo and t <= x.hi then ok = true; break end end
          band_ok[x] = ok
          if ok then reachable_count = reachable_count + 1 end
          add("band", o.name .. "." .. b.name .. " " .. x.id .. " (" .. limits_text(x.lo, x.hi) .. ")", b, x.id,
              x.pos, ok, string.format("no total reaches it: the rows of %s add up to totals from %s to %s",
                                       o.name, tostring(lo), tostring(hi)))
        end
        band_ok[b] = reachable_count >= 2
        add("band", o.name .. "." .. b.name .. " indeterminate", b, "indeterminate", b.pos, reachable_count >= 2,
            "a range of totals can straddle two bands only when two bands can be reached")
      end
    elseif o.kind == "classification" then
      add_rows(o.name, o.rows)
      add("row", o.name .. " " .. o.unknown .. " (no value)", o, "unknown", o.pos, true)
    elseif o.kind == "contraindications" then
      for _, c in ipairs(o.entries) do
        for _, status in ipairs({ "present", "absent", "unknown" }) do
          add("contraindication", "contraindication " .. c.id .. " " .. status, c, status, c.pos, true)
        end
        kinds[c.kind] = true
        if c.relative_when and c.kind ~= "relative" then
          kinds.relative = true
          add("contraindication", "contraindication " .. c.id .. " kind " .. c.kind, c, "kind " .. c.kind, c.pos, true)
          add("contraindication", "contraindication " .. c.id .. " kind relative", c, "kind relative", c.pos, true)
        end
      end
    end
  end
  -- can_hold(cond): may this condition be true for some case? (nil: why not)
  local function can_hold(cond)
    local d = cond and DESC[cond]
    if not d then return true end
    if d.op == "band_is" then
      local b = (bands_of_score[d[1]] or {})[d[2]]
      if not b then return true end
      if d[3] == "indeterminate" then return band_ok[b], d[1] .. "." .. d[2] .. " is never indeterminate" end
      for _, x in ipairs(b.list) do
        if x.id == d[3] then return band_ok[x], "no total reaches " .. d[1] .. "." .. d[2] .. " " .. x.id end
      end
      return false, d[1] .. "." .. d[2] .. " has no band " .. tostring(d[3])
    elseif d.op == "any_contraindication" then
      return kinds[d[1]] == true, "no contraindication can be " .. d[1]
    elseif d.op == "all_of" then
      for _, c in ipairs(d[1]) do
        local ok, why = can_hold(c)
        if not ok then return false, why end
      end
    elseif d.op == "any_of" then
      local why
      for _, c in ipairs(d[1]) do
        local ok, w = can_hold(c)
        if ok then return true end
        why = w
      end
      return false, why
    end
    return true
  end
  for _, o in ipairs(outputs) do
    if o.kind == "decision" then
      for _, s in ipairs(o.steps) do
        local ok, why = can_hold(s.when)
        local prefix = o.name .. " step " .. s.number .. " " .. s.id .. " -> "
        local d = type(s.gives) == "function" and DESC[s.gives]
        local b = d and d.op == "band_of" and (bands_of_score[d[1]] or {})[d[2]]
        if b then
          for _, x in ipairs(b.list) do
            local x_ok, x_why = ok, why
            if ok and not band_ok[x] then
              x_ok, x_why = false, "no total reaches " .. d[1] .. "." .. d[2] .. " " .. x.id
            end
            add("decision", prefix .. x.id, s, x.id, s.pos, x_ok, x_why)
          end
        elseif type(s.gives) == "string" then
          add("decision", prefix .. s.gives, s, s.gives, s.pos, ok, why)
        else
          -- an outcome computed by a rule-file function: the step counts as reached once taken
          points[#points + 1] = { category = "decision", id = prefix .. "(computed)", pos = pos_of(s.pos),
                                  reached = next(seen[s] or {}) ~= nil, reachable = ok,
                                  why = (not ok) and why or nil }
        end
      end
    end
  end
  return points
end

-- P.inspect(): the live definitions, for the host's trusted checker (engine/lint.lua), which
-- proves tables whole and probes conditions; never given to rule files. After P.finish the
-- definitions are read-only: read them with pairs/ipairs/#, not next.
function P.inspect()
  return {
    outputs = outputs, output_by_name = output_by_name, levels = LEVELS,
    matcher_mt = MATCHER, is_bounded = is_bounded, null = NULL, unknown = UNKNOWN,
    how = how, row_when = row_when,
    desc = function(fn) return DESC[fn] end,
    depends = function(fn) return DEPENDS[fn] end,
    set_trace = function(fn) TRACE = fn end,
  }
end

-- The writer orders every map's keys by their place here (others follow, sorted bytewise).
P.key_order = {
  "id", "ruleset", "name", "version", "digest", "error", "errors", "warnings",
  "message", "path", "line", "column",
  -- SPEC section 5, in order
  "frankel", "grade", "deficit",
  "sins", "level", "total", "min", "max", "category",
  "value", "value_range", "note", "row",      -- (not in SPEC: item explanations read value, row, points)
  "points", "location", "pain", "bone_lesion", "alignment", "collapse", "posterolateral",
  "tokuhashi", "general_condition", "neuro_deficit", "primary", "vertebrae",
  "extraspinal_bone", "visceral", "survival", "surgery",
  "contraindications", "status", "kind",
  "recommendation",
  -- added by this prelude and rule set
  "recommendation_reason", "recommendation_caveats",
  "local_indications", "complication_risk", "technique_notes", "missing_workup",
  "step", "base_percent", "raised_by", "factors", "levels", "possible_levels",
  "unknown", "unmatched", "range", "candidates",
  "items", "bands", "fr", "en", "source",
}

return P
