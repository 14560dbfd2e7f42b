-- probe.lua: the probes of `spinerules check` -- the rule set evaluated on generated cases.
--
-- Trusted host code, the second half of engine/lint.lua's checker, in a chunk of its own so that
-- opening a rule set (which runs only the static checks, at every eval and verify) does not
-- compile it: engine/check.c loads it only for `spinerules check` and passes the function this
-- chunk returns to the checker as opts.probes; the checker calls it after its static checks
-- with what they built (the schema's nodes, the live definitions, the findings so far, the
-- reporting functions) and returns the findings. What the probes do is described at the top
-- of engine/lint.lua.

local INF = math.huge

-- The messages only the probes give, added to engine/lint.lua's MSG (same conventions).
local MSG = {
  probe_error = {
    en = "raises an error %s: %s",
    fr = "lève une erreur %s : %s" },
  when_not_given = { en = "when %s is not given", fr = "quand %s n'est pas renseigné" },
  when_nothing_given = { en = "when no input is given", fr = "quand aucune donnée n'est renseignée" },
  when_all_given = { en = "on a case where every field is given", fr = "sur un cas où tous les champs sont renseignés" },
  when_probe = { en = "on the case %s", fr = "sur le cas %s" },
  probes_stopped = {
    en = "the probes stopped after %d cases that failed: fix the errors reported and run check again",
    fr = "les essais se sont arrêtés après %d cas en échec : corrigez les erreurs signalées et relancez check" },
  never_status = {
    en = "contraindication '%s' is never %s, whatever its inputs (every combination of their values was tried)",
    fr = "la contre-indication '%s' n'est jamais %s, quelles que soient ses données (toutes les combinaisons de leurs valeurs ont été essayées)" },
  not_unknown = {
    en = "contraindication '%s' is %s when none of its inputs is given: an input not given must give 'unknown'",
    fr = "la contre-indication '%s' est %s quand aucune de ses données n'est renseignée : une donnée absente doit donner 'unknown'" },
  never_relative = {
    en = "contraindication '%s' is never relative when present, whatever its inputs, although it has relative_when",
    fr = "la contre-indication '%s' n'est jamais relative quand elle est présente, quelles que soient ses données, bien qu'elle ait relative_when" },
  step_never = {
    en = "step '%s' of decision '%s' never decides on the cases tried (each total of each score, crossed with each contraindication present)",
    fr = "l'étape '%s' de la décision '%s' ne décide jamais sur les cas essayés (chaque total de chaque score, croisé avec chaque contre-indication présente)" },
  outcome_never = {
    en = "decision '%s' never gives '%s' on the cases tried (each total of each score, crossed with each contraindication present)",
    fr = "la décision '%s' ne donne jamais '%s' sur les cas essayés (chaque total de chaque score, croisé avec chaque contre-indication présente)" },
  unmatched = {
    en = "%s: the input gives %s (%s), which no row holds: the item then reads as unknown",
    fr = "%s : la donnée vaut %s (%s), qu'aucune ligne ne contient : l'item est alors inconnu" },
  dynamic_field = {
    en = "reads '%s', which is not a field of the case schema%s",
    fr = "lit '%s', qui n'est pas un champ du schéma de cas%s" },
}

return function(ctx)
  for key, m in pairs(MSG) do ctx.messages[key] = m end
  local say, quote, join, lookup, I, NULL, P, root, resolve =
    ctx.say, ctx.quote, ctx.join, ctx.lookup, ctx.I, ctx.NULL, ctx.P, ctx.root, ctx.resolve
  local path_suggestion, reachable, sorted_keys, proved, flagged, findings, err, warn =
    ctx.path_suggestion, ctx.reachable, ctx.sorted_keys, ctx.proved, ctx.flagged, ctx.findings, ctx.err, ctx.warn

  ---------------------------------------------------------------------------------------------
  -- Probes: the rule set on generated cases
  ---------------------------------------------------------------------------------------------

  -- Values worth trying for a field: every value of an enumeration, both booleans; numbers
  -- around every limit the rules compare with; lists empty, of one value each, and whole.
  local thresholds = {}
  local function harvest(fn, seen)
    if type(fn) ~= "function" or seen[fn] then return end
    seen[fn] = true
    local d = I.desc(fn)
    if not d then return end
    if (d.op == "<" or d.op == "<=" or d.op == ">=") and type(d[2]) == "number" then
      thresholds[#thresholds + 1] = d[2]
    end
    for _, x in ipairs(d) do
      if type(x) == "function" then harvest(x, seen)
      elseif type(x) == "table" then for _, y in ipairs(x) do harvest(y, seen) end end
    end
  end
  do
    local seen = {}
    for _, o in ipairs(I.outputs) do
      for _, c in ipairs(o.entries or {}) do harvest(c.when, seen); harvest(c.relative_when, seen) end
      for _, s in ipairs(o.steps or {}) do harvest(s.when, seen) end
      for _, c in ipairs(o.checks or {}) do harvest(c.when, seen) end
      for _, c in ipairs(o.factors or {}) do harvest(c.when, seen) end
      for _, it in ipairs(o.items or {}) do
        for _, r in ipairs(it.rows) do
          if r.when.lo and r.when.lo ~= -INF then thresholds[#thresholds + 1] = r.when.lo end
          if r.when.hi and r.when.hi ~= INF then thresholds[#thresholds + 1] = r.when.hi end
        end
      end
    end
  end

  local function samples_of(node)
    if node.kind == "enum" or node.kind == "bool" then
      local out = {}
      for i, v in ipairs(node.values) do out[i] = v end
      return out
    end
    if node.kind == "int" or node.kind == "num" then
      local set, out = {}, {}
      local step = node.step or 1
      local function add(v)
        if v < node.min or v > node.max then return end
        if node.kind == "int" then
          if math.type(v) ~= "integer" then v = math.tointeger(v) end
          if not v or (v - (node.min ~= -INF and node.min or 0)) % step ~= 0 then return end
        end
        if not set[v] then set[v] = true; out[#out + 1] = v end
      end
      local base = node.min ~= -INF and node.min or 0
      if node.max ~= INF and (node.max - base) / step <= 12 then
        for v = base, node.max, step do add(v) end
      else
        for k = 0, 3 do add(base + k * step) end
      end
      for _, t in ipairs(thresholds) do
        for _, dv in ipairs({ -step, 0, step }) do add(t + dv) end
        if node.kind == "num" then add(t - 0.5); add(t + 0.5) end
      end
      add(base + 100 * step)
      table.sort(out)
      return out
    end
    if node.kind == "list" then
      local items = samples_of(node.item)
      local out = { {} }
      for _, v in ipairs(items) do out[#out + 1] = { v } end
      if #items > 1 then out[#out + 1] = { items[1], items[2] } end
      if #items > 2 then out[#out + 1] = { items[1], items[2], items[3] } end
      if #items > 3 then
        local all = {}
        for i, v in ipairs(items) do all[i] = v end
        out[#out + 1] = all
      end
      return out
    end
    return {}
  end

  -- The leaves: fields of the case (root) and of one element of each list of objects.
  local leaves = {}   -- { path, element = "spine.lesions" | nil, field, node, samples }
  local function collect(node, prefix, element)
    for _, name in ipairs(node.names or {}) do
      local sub = node.fields[name]
      local path = prefix == "" and name or (prefix .. "." .. name)
      if sub.kind == "object" then
        collect(sub, path, element)
      elseif sub.kind == "elements" then
        if not element then collect(sub.element, "", path) end
      elseif sub.kind ~= "string" then
        leaves[#leaves + 1] = { path = path, element = element, node = sub, samples = samples_of(sub),
                                display = element and (element .. "[]." .. path) or path }
      end
    end
  end
  collect(root, "", nil)
  local leaf_by_display = {}
  for _, l in ipairs(leaves) do leaf_by_display[l.display] = l end

  -- An assignment: { leaf, value }. A case is built from a list of them.
  local function copy(v)
    if type(v) ~= "table" then return v end
    local t = {}
    for i, x in ipairs(v) do t[i] = x end
    return t
  end
  local function set_path(t, path, v)
    local parts = {}
    for part in path:gmatch("[^%.]+") do parts[#parts + 1] = part end
    for i = 1, #parts - 1 do
      t[parts[i]] = t[parts[i]] or {}
      t = t[parts[i]]
    end
    t[parts[#parts]] = v
  end
  local function get_path(t, path)
    for part in path:gmatch("[^%.]+") do
      if type(t) ~= "table" then return nil end
      t = t[part]
    end
    return t
  end

  local ctx_of = setmetatable({}, { __mode = "k" })   -- table of a probe case -> its schema context
  local function build(assignments)
    local case = { id = "probe" }
    ctx_of[case] = root
    for _, a in ipairs(assignments) do
      local l = a.leaf
      if l.element then
        local list = get_path(case, l.element)
        if type(list) ~= "table" then list = {}; set_path(case, l.element, list) end
        if not list[1] then
          list[1] = {}
          local node = resolve(l.element, root)
          ctx_of[list[1]] = node and node.element or nil
        end
        set_path(list[1], l.path, copy(a.value))
      else
        set_path(case, l.path, copy(a.value))
      end
    end
    return case
  end
  local function describe_assignments(assignments)
    local parts = {}
    for i, a in ipairs(assignments) do
      if i > 3 then parts[#parts + 1] = "..."; break end
      local v = a.value
      if type(v) == "table" then v = "[" .. join(v, ", ") .. "]" else v = tostring(v) end
      parts[#parts + 1] = a.leaf.display .. " = " .. v
    end
    if #parts == 0 then return "{}" end
    return "{" .. table.concat(parts, ", ") .. "}"
  end

  -- Tracing: which case fields a rule reads; fields the schema lacks are reported.
  local reads             -- set of display paths read, while collecting
  local reported_dynamic = {}
  local function tracer(t, path)
    local ctx = ctx_of[t]
    if not ctx then return end
    local node = lookup(ctx, path)
    local display = (ctx.display == "" or ctx == root) and path or (ctx.display .. "." .. path)
    if node then
      if reads then reads[display] = true end
    elseif not reported_dynamic[display] then
      reported_dynamic[display] = true
      local pos = P.where()
      if pos ~= "?:" then err(pos, '"' .. path .. '"', say("dynamic_field", path, path_suggestion(path, ctx ~= root and ctx or nil))) end
    end
  end

  local probes, failures = 0, 0
  local MAX_FAILURES = 20   -- a rule that fails on every case fails on the first ones already
  local errors_at = {}
  local function evaluate(assignments, why)
    if failures >= MAX_FAILURES then return nil end
    probes = probes + 1
    local case = build(assignments)
    I.set_trace(tracer)
    local ok, res = pcall(P.evaluate, case)
    I.set_trace(nil)
    if not ok then
      failures = failures + 1
      if failures == MAX_FAILURES then warn(nil, nil, say("probes_stopped", MAX_FAILURES)) end
      local msg = type(res) == "string" and res or ("(error object is a " .. type(res) .. " value)")
      local pos, text = msg:match("^(.-:%d+:) (.*)$")
      if not pos then pos, text = nil, msg end
      local key = pos or text
      if not errors_at[key] then
        errors_at[key] = true
        local context = why or say("when_probe", describe_assignments(assignments))
        if pos then
          err(pos, nil, say("probe_error", context, text))
        else
          err(nil, nil, say("probe_error", context, text))
        end
      end
      return nil, case
    end
    return res, case
  end

  -- What the probes reached.
  local status_seen, kind_seen = {}, {}            -- contraindication id -> set
  local witness = {}                                -- "id/status/kind" -> assignments
  local step_seen, outcome_seen = {}, {}            -- decision name -> set
  local unmatched = {}                              -- item -> { value, assignments }
  local row_assign = {}                             -- item -> { [row] = assignments }
  local contra, decisions, scores = nil, {}, {}
  for _, o in ipairs(I.outputs) do
    if o.kind == "contraindications" then contra = o end
    if o.kind == "decision" then decisions[#decisions + 1] = o end
    if o.kind == "score" then scores[#scores + 1] = o end
  end

  local function observe(res, assignments)
    if not res then return end
    if contra and type(res.contraindications) == "table" then
      for i, c in ipairs(contra.entries) do
        local r = res.contraindications[i]
        if r then
          status_seen[c.id] = status_seen[c.id] or {}
          status_seen[c.id][r.status] = true
          if r.status == "present" then
            kind_seen[c.id] = kind_seen[c.id] or {}
            kind_seen[c.id][r.kind] = true
          end
          local key = c.id .. "/" .. tostring(r.status) .. "/" .. tostring(r.kind)
          if not witness[key] then witness[key] = assignments end
        end
      end
    end
    for _, d in ipairs(decisions) do
      local reason = res[d.name .. "_reason"]
      step_seen[d.name] = step_seen[d.name] or {}
      outcome_seen[d.name] = outcome_seen[d.name] or {}
      if type(reason) == "table" and reason.id then step_seen[d.name][reason.id] = true end
      if res[d.name] ~= nil then outcome_seen[d.name][res[d.name]] = true end
    end
    for _, s in ipairs(scores) do
      local r = res[s.name]
      if s.each and type(r) == "table" then r = r[1] end
      if type(r) == "table" and type(r.items) == "table" then
        for _, it in ipairs(s.items) do
          local e = r.items[it.name]
          if type(e) == "table" then
            if e.unmatched and not unmatched[it] then
              unmatched[it] = { value = e.value, assignments = assignments, score = s }
            end
            if type(e.points) == "number" and type(e.row) == "table" then
              row_assign[it] = row_assign[it] or {}
              for _, row in ipairs(it.rows) do
                if row.points == e.points and row.fr == e.row.fr and row.en == e.row.en then
                  local known = row_assign[it][row]
                  if not known or #assignments < #known then row_assign[it][row] = assignments end
                  break
                end
              end
            end
          end
        end
      end
    end
  end

  local function run(assignments, why)
    local res = evaluate(assignments, why)
    observe(res, assignments)
    return res
  end

  -- 1. every field given, then every field but one (an input not given must not fail)
  local full = {}
  for _, l in ipairs(leaves) do
    if #l.samples > 0 then full[#full + 1] = { leaf = l, value = l.samples[(#l.samples + 1) // 2] } end
  end
  run(full, say("when_all_given"))
  for i, a in ipairs(full) do
    local rest = {}
    for j, b in ipairs(full) do if j ~= i then rest[#rest + 1] = b end end
    run(rest, say("when_not_given", a.leaf.display))
  end
  -- 2. nothing given: every contraindication must be unknown
  local empty_res = run({}, say("when_nothing_given"))
  if empty_res and contra then
    for i, c in ipairs(contra.entries) do
      local r = empty_res.contraindications and empty_res.contraindications[i]
      if r and r.status ~= "unknown" then
        err(c.pos, "contraindication", say("not_unknown", c.id, tostring(r.status)))
      end
    end
  end
  -- 3. one field at a time, every value worth trying
  for _, l in ipairs(leaves) do
    for _, v in ipairs(l.samples) do run({ { leaf = l, value = v } }) end
  end
  -- 4. each total of each score: rows chosen through the fields that gave them
  local score_cases = {}
  for _, s in ipairs(scores) do
    local combos = { [0] = {} }
    for _, it in ipairs(s.items) do
      local next_combos = {}
      for total, assigns in pairs(combos) do
        for _, row in ipairs(it.rows) do
          local a = row_assign[it] and row_assign[it][row]
          if a and next_combos[total + row.points] == nil then
            local merged = {}
            for _, x in ipairs(assigns) do merged[#merged + 1] = x end
            for _, x in ipairs(a) do merged[#merged + 1] = x end
            next_combos[total + row.points] = merged
          end
        end
      end
      combos = next_combos
    end
    for _, total in ipairs(sorted_keys(combos)) do
      score_cases[#score_cases + 1] = combos[total]
      run(combos[total])
    end
  end
  -- 5. each contraindication: the fields it reads, in every combination
  if contra then
    for i, c in ipairs(contra.entries) do
      reads = {}
      local base = build(full)
      I.set_trace(tracer)
      pcall(function()
        local res = P.evaluate(base)
        reads = {}
        if c.when then c.when(base, base, res) end
        if c.relative_when then c.relative_when(base, base, res) end
      end)
      I.set_trace(nil)
      local fields = {}
      for display in pairs(reads) do
        local l = leaf_by_display[display]
        if l and #l.samples > 0 then fields[#fields + 1] = l end
      end
      reads = nil
      table.sort(fields, function(a, b) return a.display < b.display end)
      local total = 1
      for _, l in ipairs(fields) do total = total * (#l.samples + 1) end
      if total <= 4096 then
        local idx = {}
        for k = 1, #fields do idx[k] = 0 end
        for _ = 1, total do
          local assigns = {}
          for k, l in ipairs(fields) do
            if idx[k] > 0 then assigns[#assigns + 1] = { leaf = l, value = l.samples[idx[k]] } end
          end
          run(assigns)
          for k = 1, #fields do
            idx[k] = idx[k] + 1
            if idx[k] <= #fields[k].samples then break end
            idx[k] = 0
          end
        end
      end
    end
  end
  -- 6. decisions: each total of each score crossed with each contraindication present
  if #decisions > 0 then
    local overlays = { {} }
    for _, key in ipairs(sorted_keys(witness)) do
      if key:match("/present/") then overlays[#overlays + 1] = witness[key] end
    end
    local bases = { {} }
    for _, sc in ipairs(score_cases) do bases[#bases + 1] = sc end
    for _, b in ipairs(bases) do
      for _, ov in ipairs(overlays) do
        local merged = {}
        local taken = {}
        for _, x in ipairs(ov) do taken[x.leaf] = true end
        for _, x in ipairs(b) do if not taken[x.leaf] then merged[#merged + 1] = x end end
        for _, x in ipairs(ov) do merged[#merged + 1] = x end
        run(merged)
      end
    end
  end

  ---------------------------------------------------------------------------------------------
  -- What no probe reached
  ---------------------------------------------------------------------------------------------

  -- a probe that failed stopped its case before any result: what it would have reached is not
  -- known, so nothing is said to be unreachable (the failure is reported, and comes first)
  local probes_ran = next(errors_at) == nil

  if contra and probes_ran then
    for _, c in ipairs(contra.entries) do
      local seen = status_seen[c.id] or {}
      for _, status in ipairs({ "present", "absent" }) do
        if not seen[status] and not flagged[c.pos] then
          warn(c.pos, "contraindication", say("never_status", c.id, say("w_" .. status)))
        end
      end
      if c.relative_when and c.kind ~= "relative" and seen.present and not (kind_seen[c.id] or {}).relative
         and not flagged[c.pos] then
        warn(c.pos, "contraindication", say("never_relative", c.id))
      end
    end
  end

  -- bands already reported as unreachable are not reported again as outcomes
  local unreachable_band = {}
  for _, s in ipairs(scores) do
    local reach = reachable(s)
    for _, b in ipairs(s.bands) do
      for _, x in ipairs(b.list) do
        local hit = false
        for t in pairs(reach) do if t >= x.lo and t <= x.hi then hit = true; break end end
        if not hit then unreachable_band[s.name .. "." .. b.name .. "." .. x.id] = true end
      end
    end
  end

  for _, d in ipairs(probes_ran and decisions or {}) do
    local steps = step_seen[d.name] or {}
    local outcomes = outcome_seen[d.name] or {}
    for _, s in ipairs(d.steps) do
      if not steps[s.id] and not flagged[s.pos] then warn(s.pos, "step", say("step_never", s.id, d.name)) end
    end
    local expected, seen_expected = {}, {}
    for _, s in ipairs(d.steps) do
      if type(s.gives) == "string" then
        if not seen_expected[s.gives] then seen_expected[s.gives] = true; expected[#expected + 1] = { s.gives, s.pos } end
      elseif type(s.gives) == "function" then
        local g = I.desc(s.gives)
        if g and g.op == "band_of" then
          local sc = I.output_by_name[g[1]]
          for _, b in ipairs(sc and sc.bands or {}) do
            if b.name == g[2] then
              for _, x in ipairs(b.list) do
                if not seen_expected[x.id] and not unreachable_band[g[1] .. "." .. g[2] .. "." .. x.id] then
                  seen_expected[x.id] = true
                  expected[#expected + 1] = { x.id, s.pos }
                end
              end
            end
          end
        end
      end
    end
    for _, e in ipairs(expected) do
      if not outcomes[e[1]] then warn(e[2], "step", say("outcome_never", d.name, e[1])) end
    end
  end

  for _, s in ipairs(scores) do
    for _, it in ipairs(s.items) do
      local u = unmatched[it]
      if u and not proved[it] then
        local v = u.value
        if v == NULL then v = "null" end
        warn(it.pos, "item", say("unmatched", say("w_item", it.name, s.name), quote(v),
                                 describe_assignments(u.assignments)))
      end
    end
  end
end
