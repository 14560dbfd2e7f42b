-- diff.lua: the comparisons and reports of `spinerules diff` (engine/diff.c drives it).
--
-- Trusted host code, run in a plain Lua state of its own (no rule code ever runs there): it
-- receives plain data only, read back from JSON - the two rule sets' P.describe() and the
-- two results of each case - and builds the report:
--   rules:  what changed in the rules themselves, element by element (rows, points, band
--           limits, labels, contraindication kinds and conditions, decision steps...);
--   cases:  the clinical fields of each result (every score total and band, classification,
--           contraindication status and kind, decision and the step that gave it, finding
--           status, risk), read through the rule sets' structure, compared case by case and
--           grouped by transition ("tokuhashi.surgery: case_by_case -> recommended");
--   other:  in cases whose clinical fields did not change, the other paths that differ
--           (labels, sources, explanations), grouped by path.
-- Loaded with one argument, host = { null = <null sentinel>, array_mt = <array metatable> };
-- returns the module D below.

local host = ...
local NULL = host.null
local ARRAY_MT = host.array_mt

local D = {}

local function array(t) return setmetatable(t or {}, ARRAY_MT) end

local function is_array(t) return type(t) == "table" and getmetatable(t) == ARRAY_MT end

-- text(v): a value as the report shows it; nil and null read "(none)".
local function text(v)
  if v == nil or v == NULL then return "(none)" end
  if type(v) == "table" then
    local parts = {}
    for i, x in ipairs(v) do parts[i] = text(x) end
    return table.concat(parts, ", ")
  end
  return tostring(v)
end

---------------------------------------------------------------------------------------------
-- Rules: the structures of two rule sets (P.describe), compared element by element.
---------------------------------------------------------------------------------------------

-- by(list, key): the elements of list by their key, and the keys in order.
local function by(list, key)
  local map, order = {}, {}
  for _, x in ipairs(list or {}) do
    local k = x[key]
    if k ~= nil and map[k] == nil then map[k] = x; order[#order + 1] = k end
  end
  return map, order
end

local function compare_rules(a, b)
  local changes = array()
  local function add(where, what, from, to)
    changes[#changes + 1] = { where = where, what = what, from = from, to = to }
  end
  -- the fields of two elements that are plain values (labels, limits, points...)
  local function fields(where, x, y, names)
    for _, f in ipairs(names) do
      local u, v = x[f], y[f]
      if u == NULL then u = nil end
      if v == NULL then v = nil end
      if u ~= v then add(where, f, u, v) end
    end
  end
  -- two lists of elements matched by key: removed, added, then each common pair
  -- (where "" names an element by its label alone: "contraindication short_survival")
  local function lists(where, xs, ys, key, label, summary, each)
    local xm, xo = by(xs, key)
    local ym, yo = by(ys, key)
    local function name_of(k) return (where ~= "" and where .. " " or "") .. label .. " " .. tostring(k) end
    for _, k in ipairs(xo) do
      if ym[k] == nil then add(name_of(k), "removed", summary(xm[k]), nil) end
    end
    for _, k in ipairs(yo) do
      if xm[k] == nil then add(name_of(k), "added", nil, summary(ym[k])) end
    end
    -- order matters where the first match wins (rows, steps) and for the order of a list
    local common_x, common_y = {}, {}
    for _, k in ipairs(xo) do if ym[k] ~= nil then common_x[#common_x + 1] = tostring(k) end end
    for _, k in ipairs(yo) do if xm[k] ~= nil then common_y[#common_y + 1] = tostring(k) end end
    local sx, sy = table.concat(common_x, ", "), table.concat(common_y, ", ")
    if sx ~= sy then add(where ~= "" and where or label .. "s", label .. " order", sx, sy) end
    for _, k in ipairs(yo) do
      if xm[k] ~= nil then each(name_of(k), xm[k], ym[k]) end
    end
  end
  local LABELS = { "fr", "en", "source" }
  local function with_labels(names)
    local out = {}
    for _, n in ipairs(names) do out[#out + 1] = n end
    for _, n in ipairs(LABELS) do out[#out + 1] = n end
    return out
  end
  local function points_of(r) return tostring(r.points) .. " points" end
  local function check_summary(c) return c.when end

  local xm, xo = by(a.outputs, "name")
  local ym, yo = by(b.outputs, "name")
  for _, k in ipairs(xo) do if ym[k] == nil then add(k, "removed", xm[k].kind, nil) end end
  for _, k in ipairs(yo) do if xm[k] == nil then add(k, "added", nil, ym[k].kind) end end
  for _, name in ipairs(yo) do
    local x, y = xm[name], ym[name]
    if x ~= nil and x.kind ~= y.kind then
      add(name, "kind", x.kind, y.kind)
    elseif x ~= nil then
      local kind = y.kind
      if kind == "score" then
        fields(name, x, y, with_labels({ "each", "key", "declared_max" }))
        local xt, yt = tostring(x.min) .. "-" .. tostring(x.max), tostring(y.min) .. "-" .. tostring(y.max)
        if xt ~= yt then add(name, "totals", xt, yt) end
        local xi, xio = by(x.items, "name")
        local yi, yio = by(y.items, "name")
        for _, k in ipairs(xio) do if yi[k] == nil then add(name .. "." .. k, "removed", "item", nil) end end
        for _, k in ipairs(yio) do if xi[k] == nil then add(name .. "." .. k, "added", nil, "item") end end
        for _, k in ipairs(yio) do
          if xi[k] ~= nil then
            local where = name .. "." .. k
            fields(where, xi[k], yi[k], with_labels({ "input", "declared_max" }))
            lists(where, xi[k].rows, yi[k].rows, "when", "row", points_of, function(w, r, s)
              fields(w, r, s, with_labels({ "points" }))
            end)
          end
        end
        local xb, xbo = by(x.bands, "name")
        local yb, ybo = by(y.bands, "name")
        for _, k in ipairs(xbo) do if yb[k] == nil then add(name .. "." .. k, "removed", "bands", nil) end end
        for _, k in ipairs(ybo) do if xb[k] == nil then add(name .. "." .. k, "added", nil, "bands") end end
        for _, k in ipairs(ybo) do
          if xb[k] ~= nil then
            local where = name .. "." .. k
            fields(where, xb[k], yb[k], { "source" })
            lists(where, xb[k].list, yb[k].list, "id", "band", function(z) return z.limits end, function(w, u, v)
              fields(w, u, v, with_labels({ "limits" }))
            end)
          end
        end
      elseif kind == "classification" then
        fields(name, x, y, with_labels({ "input", "value_key", "gives", "unknown" }))
        lists(name, x.rows, y.rows, "when", "row", function(r) return r.class end, function(w, r, s)
          fields(w, r, s, with_labels({ "class" }))
        end)
      elseif kind == "contraindications" then
        lists("", x.entries, y.entries, "id", "contraindication",
              function(c) return c.kind .. " when " .. tostring(c.when) end, function(w, c, d)
          fields(w, c, d, with_labels({ "kind", "when", "relative_when" }))
        end)
      elseif kind == "decision" then
        fields(name, x, y, { "source" })
        lists(name, x.steps, y.steps, "id", "step", function(s) return "gives " .. tostring(s.gives) end,
              function(w, s, t) fields(w, s, t, with_labels({ "when", "gives" })) end)
      elseif kind == "findings" then
        fields(name, x, y, { "source", "list" })
        fields(name, x.statuses or {}, y.statuses or {}, { "yes", "no", "unknown" })
        lists(name, x.checks, y.checks, "id", "check", check_summary, function(w, c, d)
          fields(w, c, d, with_labels({ "when", "each", "key" }))
        end)
      elseif kind == "risk" then
        fields(name, x, y, with_labels({ "base_percent", "raised_percent", "raised_when", "raised_fr", "raised_en" }))
        lists(name, x.factors, y.factors, "id", "factor", check_summary, function(w, c, d)
          fields(w, c, d, with_labels({ "when", "each", "key" }))
        end)
      end
    end
  end
  for _, c in ipairs(changes) do
    if c.from ~= nil then c.from = text(c.from) end
    if c.to ~= nil then c.to = text(c.to) end
  end
  return changes
end

---------------------------------------------------------------------------------------------
-- Cases: the clinical fields of a result, read through the structure of the rule sets.
---------------------------------------------------------------------------------------------

-- The fields to compare, in order: { output, kind, ... } from both structures (the new one's
-- order, then what only the old one has).
local plan

local function make_plan(a, b)
  local seen, out = {}, {}
  for _, desc in ipairs({ b, a }) do
    for _, o in ipairs(desc.outputs) do
      if not seen[o.name] then
        -- a copy: the descriptions themselves are compared as they are
        local copy = {}
        for k, v in pairs(o) do copy[k] = v end
        for _, listname in ipairs({ "bands", "checks", "factors", "entries" }) do
          if o[listname] then copy[listname] = array({ table.unpack(o[listname]) }) end
        end
        seen[o.name] = copy
        out[#out + 1] = copy
      elseif o.kind == seen[o.name].kind then
        -- merge the sub-elements only one of the two has (bands, checks, factors, entries)
        local into = seen[o.name]
        for _, listname in ipairs({ "bands", "checks", "factors", "entries" }) do
          local have = by(into[listname], listname == "bands" and "name" or "id")
          for _, e in ipairs(o[listname] or {}) do
            local k = e[listname == "bands" and "name" or "id"]
            if have[k] == nil then
              into[listname] = into[listname] or array()
              into[listname][#into[listname] + 1] = e
            end
          end
        end
      end
    end
  end
  return out
end

local function total_text(s)
  if type(s) ~= "table" then return nil end
  if s.total ~= nil and s.total ~= NULL then return s.total end
  if type(s.min) == "number" and type(s.max) == "number" then return s.min .. "-" .. s.max end
  return nil
end

-- fields_of(result): ordered list of { field, group, value }; `group` is the field without
-- the element it belongs to (sins[T12].category -> sins.category). With skeleton, the
-- fields of an empty result, one element per per-element score: the order of the groups.
local function fields_of(r, skeleton)
  local out = {}
  local function put(field, group, value)
    if value == NULL then value = nil end
    out[#out + 1] = { field = field, group = group, value = value }
  end
  if r.error ~= nil and r.error ~= NULL then
    put("error", "error", type(r.error) == "table" and r.error.message or r.error)
    return out
  end
  for _, o in ipairs(plan) do
    local v = r[o.name]
    if o.kind == "score" then
      local function one(prefix, s)
        put(prefix .. ".total", o.name .. ".total", total_text(s))
        for _, b in ipairs(o.bands or {}) do
          put(prefix .. "." .. b.name, o.name .. "." .. b.name, type(s) == "table" and s[b.name] or nil)
        end
      end
      if o.each and skeleton then
        one(o.name, nil)
      elseif o.each then
        for i, s in ipairs(type(v) == "table" and v or {}) do
          local key = o.key and type(s) == "table" and s[o.key]
          if key == nil or key == NULL then key = i end
          one(o.name .. "[" .. tostring(key) .. "]", s)
        end
      else
        one(o.name, v)
      end
    elseif o.kind == "classification" then
      put(o.name .. "." .. o.gives, o.name .. "." .. o.gives, type(v) == "table" and v[o.gives] or nil)
    elseif o.kind == "contraindications" then
      local got = by(type(v) == "table" and v or {}, "id")
      for _, c in ipairs(o.entries or {}) do
        local e = got[c.id] or {}
        put("contraindications." .. c.id .. ".status", "contraindications." .. c.id .. ".status", e.status)
        put("contraindications." .. c.id .. ".kind", "contraindications." .. c.id .. ".kind", e.kind)
      end
    elseif o.kind == "decision" then
      put(o.name, o.name, v)
      local reason = r[o.name .. "_reason"]
      put(o.name .. "_reason", o.name .. "_reason", type(reason) == "table" and reason.id or nil)
    elseif o.kind == "findings" then
      local got = by(type(v) == "table" and v or {}, "id")
      local absent = (o.statuses or {}).no or "absent"
      for _, c in ipairs(o.checks or {}) do
        local e = got[c.id]
        -- a list of what is not absent leaves the absent ones out
        local status = e and e.status or (o.list == "not_absent" and v ~= nil and absent or nil)
        put(o.name .. "." .. c.id, o.name .. "." .. c.id, status)
      end
    elseif o.kind == "risk" then
      local base = type(v) == "table" and v.base_percent or nil
      if (base == nil or base == NULL) and type(v) == "table" and is_array(v.range) then
        base = text(v.range[1]) .. "-" .. text(v.range[2])
      end
      put(o.name .. ".base_percent", o.name .. ".base_percent", base)
      local got = by(type(v) == "table" and v.factors or {}, "id")
      for _, f in ipairs(o.factors or {}) do
        put(o.name .. ".factors." .. f.id, o.name .. ".factors." .. f.id, (got[f.id] or {}).status)
      end
    end
  end
  return out
end

-- leaf_diff(x, y, path, out): the paths of the leaves that differ between two results,
-- array indices written [] so that paths group across cases.
local function leaf_diff(x, y, path, out)
  if type(x) == "table" and type(y) == "table" then
    local function sub(k)
      if type(k) == "number" then return path .. "[]" end
      return path == "" and k or path .. "." .. k
    end
    for k, v in pairs(x) do
      local w = y[k]
      if v ~= w then leaf_diff(v, w, sub(k), out) end
    end
    for k, w in pairs(y) do
      if x[k] == nil then leaf_diff(nil, w, sub(k), out) end
    end
  elseif x ~= y then
    out[path] = true
  end
end

---------------------------------------------------------------------------------------------
-- The report.
---------------------------------------------------------------------------------------------

local R            -- the report being built (see D.start)
local groups, group_list, field_rank
local other_paths, other_list

-- D.start(from, to, a, b, ma, mb): from/to = { name, version, status, digest, dir };
-- a, b = the two P.describe() results; ma, mb = the two manifests (their changelog entries
-- that `from` does not have are reported).
function D.start(from, to, a, b, ma, mb)
  plan = make_plan(a, b)
  local known, changelog = {}, array()
  for _, e in ipairs(type(ma) == "table" and ma.changelog or {}) do known[tostring(e.version)] = true end
  for _, e in ipairs(type(mb) == "table" and mb.changelog or {}) do
    if not known[tostring(e.version)] then
      changelog[#changelog + 1] = { version = e.version, date = e.date, changes = e.changes }
    end
  end
  R = { from = from, to = to, changelog = changelog, rule_changes = compare_rules(a, b),
        cases = { files = array(), evaluated = 0, changed = 0, unchanged = 0, invalid = 0 },
        by_field = array(), by_case = array(), other_differences = array() }
  groups, group_list, field_rank = {}, {}, {}
  other_paths, other_list = {}, {}
  local rank = 0
  for _, f in ipairs(fields_of({}, true)) do   -- the order of the fields, from the structure
    if not field_rank[f.group] then rank = rank + 1; field_rank[f.group] = rank end
  end
  field_rank.error = 0
end

function D.add_file(file)
  R.cases.files[#R.cases.files + 1] = file
end

-- D.add_case(file, line, ra, rb): the two results of one case (line: where it starts).
function D.add_case(file, line, ra, rb)
  R.cases.evaluated = R.cases.evaluated + 1
  local id = ra.id
  if id == nil or id == NULL then id = rb.id end
  id = (id == nil or id == NULL) and ("#" .. R.cases.evaluated) or tostring(id)
  local fa, fb = fields_of(ra), fields_of(rb)
  local va, vb, order, seen = {}, {}, {}, {}
  for _, f in ipairs(fa) do
    va[f.field] = f.value
    if not seen[f.field] then seen[f.field] = f.group; order[#order + 1] = f.field end
  end
  for _, f in ipairs(fb) do
    vb[f.field] = f.value
    if not seen[f.field] then seen[f.field] = f.group; order[#order + 1] = f.field end
  end
  local changes = array()
  for _, field in ipairs(order) do
    local u, v = va[field], vb[field]
    if u ~= v then
      u, v = text(u), text(v)
      changes[#changes + 1] = { field = field, from = u, to = v }
      local group = seen[field]
      local key = group .. "\0" .. u .. "\0" .. v
      local g = groups[key]
      if not g then
        g = { field = group, from = u, to = v, count = 0, cases = array(), seen = {} }
        groups[key] = g
        group_list[#group_list + 1] = g
      end
      if not g.seen[id .. "\0" .. file] then
        g.seen[id .. "\0" .. file] = true
        g.count = g.count + 1
        g.cases[#g.cases + 1] = id
      end
    end
  end
  if #changes > 0 then
    R.cases.changed = R.cases.changed + 1
    R.by_case[#R.by_case + 1] = { id = id, file = file, line = line, changes = changes }
    return
  end
  R.cases.unchanged = R.cases.unchanged + 1
  if ra.error ~= nil and ra.error ~= NULL then R.cases.invalid = R.cases.invalid + 1 end
  local x, y = {}, {}
  for k, v in pairs(ra) do if k ~= "ruleset" then x[k] = v end end
  for k, v in pairs(rb) do if k ~= "ruleset" then y[k] = v end end
  local paths = {}
  leaf_diff(x, y, "", paths)
  local sorted = {}
  for p in pairs(paths) do sorted[#sorted + 1] = p end
  table.sort(sorted)
  for _, p in ipairs(sorted) do
    local o = other_paths[p]
    if not o then
      o = { path = p, count = 0, cases = array() }
      other_paths[p] = o
      other_list[#other_list + 1] = o
    end
    o.count = o.count + 1
    o.cases[#o.cases + 1] = id
  end
end

-- D.finish(): the report as plain data (written as JSON by the host), and the number of
-- cases whose clinical fields changed.
function D.finish()
  table.sort(group_list, function(p, q)
    local rp, rq = field_rank[p.field] or math.huge, field_rank[q.field] or math.huge
    if rp ~= rq then return rp < rq end
    if p.field ~= q.field then return p.field < q.field end
    if p.count ~= q.count then return p.count > q.count end
    if p.from ~= q.from then return p.from < q.from end
    return p.to < q.to
  end)
  for i, g in ipairs(group_list) do
    R.by_field[i] = { field = g.field, from = g.from, to = g.to, count = g.count, cases = g.cases }
  end
  table.sort(other_list, function(p, q) return p.path < q.path end)
  for i, o in ipairs(other_list) do R.other_differences[i] = o end
  return R, R.cases.changed
end

-- The order of the keys of the JSON report.
D.key_order = {
  "where", "what", "field", "id", "file", "line", "path", "from", "to",
  "name", "version", "status", "date", "digest", "dir", "changelog", "rule_changes",
  "count", "cases", "files", "evaluated", "changed", "unchanged", "invalid",
  "by_field", "by_case", "other_differences", "changes",
}

---------------------------------------------------------------------------------------------
-- Text and Markdown.
---------------------------------------------------------------------------------------------

local function plural(n, word) return n .. " " .. word .. (n == 1 and "" or "s") end

-- The case ids of a group, at most `cap` of them (text and Markdown stay readable with
-- thousands of cases; the JSON report lists them all).
local function ids(list, cap)
  if not cap or #list <= cap then return table.concat(list, ", ") end
  return table.concat(list, ", ", 1, cap) .. string.format(", ... (%d more)", #list - cap)
end
local TEXT_IDS = 20

local function identity(x)
  return string.format("%s %s (%s)", text(x.name), text(x.version), text(x.status))
end

local function change_text(c, quote)
  if c.what == "removed" then return "removed (" .. text(c.from) .. ")" end
  if c.what == "added" then return "added (" .. text(c.to) .. ")" end
  local q = quote[c.what] and '"' or ""
  return c.what .. ": " .. q .. text(c.from) .. q .. " -> " .. q .. text(c.to) .. q
end

local QUOTED = { fr = true, en = true, source = true, raised_fr = true, raised_en = true,
                 when = true, relative_when = true, input = true, raised_when = true }

-- " (4 of them invalid under both versions)" when some are: they compare equal, but were
-- never evaluated.
local function invalid_note(r)
  if r.cases.invalid == 0 then return "" end
  return string.format(" (%d of them invalid under both versions)", r.cases.invalid)
end

local function case_ref(c, several_files)
  if several_files or c.line then
    return c.id .. " (" .. c.file .. (c.line and (":" .. c.line) or "") .. ")"
  end
  return c.id
end

function D.text(r)
  local out = {}
  local function say(s) out[#out + 1] = s end
  say("spinerules diff")
  say("from: " .. identity(r.from) .. "  " .. r.from.digest)
  say("      " .. r.from.dir)
  say("to:   " .. identity(r.to) .. "  " .. r.to.digest)
  say("      " .. r.to.dir)
  if #r.changelog > 0 then
    say("")
    say("Changelog since " .. text(r.from.version) .. ":")
    for _, e in ipairs(r.changelog) do
      say("  " .. text(e.version) .. " (" .. text(e.date) .. "): " .. text(e.changes))
    end
  end
  say("")
  if #r.rule_changes == 0 then
    say("Rule changes: none")
  else
    say("Rule changes (" .. #r.rule_changes .. "):")
    for _, c in ipairs(r.rule_changes) do say("  " .. c.where .. ": " .. change_text(c, QUOTED)) end
  end
  say("")
  local files = {}
  for i, f in ipairs(r.cases.files) do files[i] = f end
  say(string.format("Cases: %s evaluated (%s), %d with a changed outcome, %d unchanged%s",
                    r.cases.evaluated, table.concat(files, ", "), r.cases.changed, r.cases.unchanged,
                    invalid_note(r)))
  if #r.by_field > 0 then
    say("")
    say("Changes by field:")
    for _, g in ipairs(r.by_field) do
      say(string.format("  %s: %s -> %s  %s", g.field, g.from, g.to, plural(g.count, "case")))
      say("    " .. ids(g.cases, TEXT_IDS))
    end
    say("")
    say("Changes by case:")
    for _, c in ipairs(r.by_case) do
      say("  " .. case_ref(c, #r.cases.files > 1))
      for _, ch in ipairs(c.changes) do say("    " .. ch.field .. ": " .. ch.from .. " -> " .. ch.to) end
    end
  end
  if #r.other_differences > 0 then
    say("")
    say("Other differences, in cases whose outcome did not change (labels, sources, explanations):")
    for _, o in ipairs(r.other_differences) do
      say("  " .. o.path .. "  " .. plural(o.count, "case"))
      say("    " .. ids(o.cases, TEXT_IDS))
    end
  end
  return table.concat(out, "\n") .. "\n"
end

local function md(s)
  return (text(s):gsub("\\", "\\\\"):gsub("|", "\\|"):gsub("\n", " "))
end

local function code(s) return "`" .. text(s):gsub("`", "'") .. "`" end

function D.markdown(r)
  local out = {}
  local function say(s) out[#out + 1] = s end
  say(string.format("# Rule set diff: %s %s → %s %s", md(r.from.name), md(r.from.version), md(r.to.name),
                    md(r.to.version)))
  say("")
  say("| | rule set | version | status | digest | folder |")
  say("|---|---|---|---|---|---|")
  for _, side in ipairs({ { "from", r.from }, { "to", r.to } }) do
    local x = side[2]
    say(string.format("| %s | %s | %s | %s | %s | %s |", side[1], md(x.name), md(x.version), md(x.status),
                      code(x.digest), code(x.dir)))
  end
  if #r.changelog > 0 then
    say("")
    say("## Changelog since " .. md(r.from.version))
    say("")
    for _, e in ipairs(r.changelog) do
      say("- **" .. md(e.version) .. "** (" .. md(e.date) .. "): " .. md(e.changes))
    end
  end
  say("")
  say("## Rule changes (" .. #r.rule_changes .. ")")
  say("")
  if #r.rule_changes == 0 then
    say("None.")
  else
    say("| where | what | from | to |")
    say("|---|---|---|---|")
    for _, c in ipairs(r.rule_changes) do
      say(string.format("| %s | %s | %s | %s |", md(c.where), md(c.what), c.from and md(c.from) or "",
                        c.to and md(c.to) or ""))
    end
  end
  say("")
  say("## Cases")
  say("")
  local files = {}
  for i, f in ipairs(r.cases.files) do files[i] = code(f) end
  say(string.format("%s evaluated from %s: %d with a changed outcome, %d unchanged%s.",
                    plural(r.cases.evaluated, "case"), table.concat(files, ", "), r.cases.changed,
                    r.cases.unchanged, invalid_note(r)))
  if #r.by_field > 0 then
    say("")
    say("### Changes by field")
    say("")
    say("| field | from | to | cases | which |")
    say("|---|---|---|---|---|")
    for _, g in ipairs(r.by_field) do
      say(string.format("| %s | %s | %s | %d | %s |", md(g.field), md(g.from), md(g.to), g.count,
                        md(table.concat(g.cases, ", "))))
    end
    say("")
    say("### Changes by case")
    for _, c in ipairs(r.by_case) do
      say("")
      say("#### " .. md(c.id) .. " (" .. code(c.file .. (c.line and (":" .. c.line) or "")) .. ")")
      say("")
      say("| field | from | to |")
      say("|---|---|---|")
      for _, ch in ipairs(c.changes) do
        say(string.format("| %s | %s | %s |", md(ch.field), md(ch.from), md(ch.to)))
      end
    end
  end
  if #r.other_differences > 0 then
    say("")
    say("### Other differences")
    say("")
    say("In cases whose outcome did not change (labels, sources, explanations):")
    say("")
    say("| path | cases | which |")
    say("|---|---|---|")
    for _, o in ipairs(r.other_differences) do
      say(string.format("| %s | %d | %s |", code(o.path), o.count, md(ids(o.cases, TEXT_IDS))))
    end
  end
  return table.concat(out, "\n") .. "\n"
end

return D
