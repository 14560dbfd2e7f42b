-- lint.lua: what `spinerules check` finds wrong in a rule set before any case runs.
--
-- Trusted host code, like the prelude: engine/check.c loads it in the rule set's own state
-- (with the state's real globals, never the rules' sandbox) once the rule files have run and
-- P.finish has frozen them, and calls the function this chunk returns:
--
--   lint(P, schema, opts) -> findings
--     P       the prelude's table (P.inspect() gives the live definitions)
--     schema  the case schema the manifest names, as read from its YAML file
--     opts    { probe = boolean, lang = "en" | "fr", null = <the null sentinel>,
--               errors_only = boolean (at open: the warnings that cost the most are not looked for),
--               probes = <the function engine/probe.lua returns, when probe is set> }
--     findings  a sequence of { severity = "error" | "warning", pos = "file:line:",
--               hint = <text to find on that line, or after it when forward = true>,
--               message = <text in opts.lang> }; the host turns pos and hint into
--               file:line:column and prints them in order.
--
-- Two kinds of checks:
--   static (every time a rule set is opened, so `eval` and `verify` refuse a broken one):
--     every value an input can take (from the case schema) has exactly one row; numeric
--     rows cover their whole range; points within the declared maximum; bands partition the
--     totals the rows can reach, a band no total reaches is a warning that says why; row
--     labels not repeated; every row, band, contraindication, step and check has a source;
--     every case field a condition names exists, and the values it compares with are values
--     that field can take;
--   probes (`check` only, opts.probe; in engine/probe.lua): the rule set is evaluated on generated cases, built
--     from the case schema, one field at a time, every field but one, each total of each
--     score, each contraindication's inputs in every combination, and those crossed. A rule
--     that raises an error on one of them, a contraindication never present (or never
--     absent, or not `unknown` when nothing is known), a decision step or outcome no case
--     reaches, an input value no row holds, and a case field a function reads that the
--     schema does not define are reported.

local INF = math.huge

---------------------------------------------------------------------------------------------
-- Messages (English and French; same conversions in the same order)
---------------------------------------------------------------------------------------------

local MSG = {
  field_unknown = {
    en = "reads '%s', which is not a field of the case schema%s",
    fr = "lit '%s', qui n'est pas un champ du schéma de cas%s" },
  field_unknown_in = {
    en = "reads '%s' in each element of %s, which has no such field%s",
    fr = "lit '%s' dans chaque élément de %s, qui n'a pas ce champ%s" },
  did_you_mean = { en = " (did you mean '%s'?)", fr = " (vouliez-vous dire '%s' ?)" },
  value_not_in_enum = {
    en = "%s is never true: %s is not a value of %s (%s)",
    fr = "%s n'est jamais vraie : %s n'est pas une valeur de %s (%s)" },
  value_wrong_type = {
    en = "%s is never true: %s is not a %s, as %s is",
    fr = "%s n'est jamais vraie : %s n'est pas de type %s, comme %s" },
  never_true_numeric = {
    en = "%s is never true: %s is %s",
    fr = "%s n'est jamais vraie : %s vaut %s" },
  gap_values = {
    en = "%s: no row for %s of %s (every value needs exactly one row)",
    fr = "%s : aucune ligne pour %s de %s (chaque valeur doit avoir exactement une ligne)" },
  overlap_value = {
    en = "%s: %s is also held by the row at line %d (rows are tried in order: this row never applies to it)",
    fr = "%s : %s relève aussi de la ligne %d (les lignes sont essayées dans l'ordre : celle-ci ne s'y applique jamais)" },
  dead_row = {
    en = "%s: this row holds no value of %s (%s)%s",
    fr = "%s : cette ligne ne correspond à aucune valeur de %s (%s)%s" },
  points_negative = {
    en = "%s: points cannot be negative (got %d)",
    fr = "%s : les points ne peuvent pas être négatifs (reçu %d)" },
  points_over_item_max = {
    en = "%s: this row gives %d points, more than the item's max of %d",
    fr = "%s : cette ligne donne %d points, plus que le maximum de l'item (%d)" },
  points_over_score_max = {
    en = "%s is out of %d, but its rows give up to %d (%s)",
    fr = "%s est sur %d, mais ses lignes donnent jusqu'à %d (%s)" },
  no_declared_max = {
    en = "%s declares no `max`: check cannot compare its points with the total the chapter scores it out of",
    fr = "%s ne déclare pas de `max` : check ne peut pas comparer ses points au total sur lequel le chapitre le note" },
  duplicate_label = {
    en = "%s: the %s label %s is also the label of the row at line %d",
    fr = "%s : le libellé %s %s est aussi celui de la ligne %d" },
  no_source = {
    en = "%s has no source (nor has the table it belongs to): add source = \"Tableau ...\" or \"section ...\"",
    fr = "%s n'a pas de source (ni la table dont il relève) : ajoutez source = \"Tableau ...\" ou \"section ...\"" },
  band_gap = {
    en = "%s: no band holds %s",
    fr = "%s : aucune bande ne contient %s" },
  band_gap_unreachable = {
    en = "%s: no band holds %s (no input reaches it with the current points)",
    fr = "%s : aucune bande ne contient %s (aucune donnée ne l'atteint avec les points actuels)" },
  band_overlap = {
    en = "%s: %s is also in band '%s' (line %d)",
    fr = "%s : %s est aussi dans la bande '%s' (ligne %d)" },
  band_duplicate = {
    en = "%s: band '%s' is already defined at line %d",
    fr = "%s : la bande '%s' est déjà définie ligne %d" },
  band_above = {
    en = "band '%s' of %s.%s cannot be reached: it starts at %d, and the highest total the rows give is %d (%s)%s",
    fr = "la bande '%s' de %s.%s ne peut pas être atteinte : elle commence à %d, et le total le plus haut que donnent les lignes est %d (%s)%s" },
  band_below = {
    en = "band '%s' of %s.%s cannot be reached: it ends at %d, and the lowest total the rows give is %d (%s)",
    fr = "la bande '%s' de %s.%s ne peut pas être atteinte : elle finit à %d, et le total le plus bas que donnent les lignes est %d (%s)" },
  band_between = {
    en = "band '%s' of %s.%s cannot be reached: no sum of the rows' points falls in %s",
    fr = "la bande '%s' de %s.%s ne peut pas être atteinte : aucune somme des points des lignes ne tombe dans %s" },
  out_of = { en = ", out of a declared maximum of %d", fr = ", sur un maximum déclaré de %d" },
  short_of_max = { en = "; %s", fr = " ; %s" },
  item_short = { en = "%s gives at most %d of its %d", fr = "%s donne au plus %d de ses %d" },
  -- words
  w_item = { en = "item '%s' of %s", fr = "item '%s' de %s" },
  w_classification = { en = "classification '%s'", fr = "classification '%s'" },
  w_score = { en = "score '%s'", fr = "score '%s'" },
  w_bands = { en = "bands '%s' of %s", fr = "bandes '%s' de %s" },
  w_row = { en = "row", fr = "ligne" },
  w_band = { en = "band '%s'", fr = "bande '%s'" },
  w_contraindication = { en = "contraindication '%s'", fr = "contre-indication '%s'" },
  w_step = { en = "step '%s'", fr = "étape '%s'" },
  w_check = { en = "check '%s'", fr = "vérification '%s'" },
  w_factor = { en = "factor '%s'", fr = "facteur '%s'" },
  w_risk = { en = "risk '%s'", fr = "risque '%s'" },
  w_the_value = { en = "the value %s", fr = "la valeur %s" },
  w_the_values = { en = "the values %s", fr = "les valeurs %s" },
  w_the_total = { en = "the total %s", fr = "le total %s" },
  w_the_totals = { en = "the totals %s", fr = "les totaux %s" },
  w_to = { en = "%s to %s", fr = "%s à %s" },
  w_and_more = { en = "%s and more", fr = "%s et plus" },
  w_and_less = { en = "%s and less", fr = "%s et moins" },
  w_at_least = { en = "at least %s", fr = "au moins %s" },
  w_at_most = { en = "at most %s", fr = "au plus %s" },
  w_always = { en = "always %s", fr = "toujours %s" },
  w_condition = { en = "the condition '%s'", fr = "la condition '%s'" },
  w_fr = { en = "French", fr = "français" },
  w_en = { en = "English", fr = "anglais" },
  w_present = { en = "present", fr = "présente" },
  w_absent = { en = "absent", fr = "absente" },
  w_unknown = { en = "unknown", fr = "inconnue" },
  w_kind = { en = "a %s", fr = "un %s" },
  w_integer = { en = "integers", fr = "entiers" },
  w_number = { en = "number", fr = "nombre" },
  w_boolean = { en = "boolean", fr = "booléen" },
  w_string = { en = "string", fr = "chaîne" },
}

local lang = "en"

local function say(key, ...)
  local m = MSG[key]
  return string.format(m[lang] or m.en, ...)
end

---------------------------------------------------------------------------------------------
-- Small helpers
---------------------------------------------------------------------------------------------

local function quote(v)
  if type(v) == "string" then return "'" .. v .. "'" end
  return tostring(v)
end

local function join(list, sep, f)
  local parts = {}
  for i, v in ipairs(list) do parts[i] = f and f(v) or tostring(v) end
  return table.concat(parts, sep or ", ")
end

-- "dir/sins.lua:24:" -> "dir/sins.lua", 24
local function split_pos(pos)
  if type(pos) ~= "string" then return nil, 0 end
  local file, line = pos:match("^(.*):(%d+):?$")
  return file, tonumber(line) or 0
end

local function line_of(pos)
  local _, line = split_pos(pos)
  return line
end

local function num(v)
  if v == INF then return "∞" end
  if v == -INF then return "-∞" end
  if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2^53 then return tostring(math.tointeger(v)) end
  return tostring(v)
end

-- Optimal string alignment distance, ASCII case ignored.
local function distance(a, b)
  a, b = a:lower(), b:lower()
  local la, lb = #a, #b
  if math.abs(la - lb) > 3 then return 99 end
  local d = {}
  for i = 0, la do d[i] = { [0] = i } end
  for j = 0, lb do d[0][j] = j end
  for i = 1, la do
    for j = 1, lb do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and a:sub(i, i) == b:sub(j - 1, j - 1) and a:sub(i - 1, i - 1) == b:sub(j, j) then
        v = math.min(v, d[i - 2][j - 2] + 1)
      end
      d[i][j] = v
    end
  end
  return d[la][lb]
end

-- " (did you mean 'x'?)" when one candidate is close enough, else "".
local function suggest(word, candidates)
  if type(word) ~= "string" then return "" end
  local best, best_d = nil, math.max(1, math.min(3, #word // 3))
  for _, c in ipairs(candidates) do
    if type(c) == "string" then
      local d = distance(word, c)
      if d <= best_d and (best == nil or d < best_d) then best, best_d = c, d end
    end
  end
  if best then return say("did_you_mean", best) end
  return ""
end

-- Runs of consecutive values as text: {0, 3, 4, 5, 9} step 1 -> "0, 3 to 5, 9".
local function runs_text(values, step, open_end)
  local parts, i = {}, 1
  while i <= #values do
    local j = i
    while j < #values and values[j + 1] == values[j] + step do j = j + 1 end
    if j == #values and open_end then
      parts[#parts + 1] = say("w_and_more", num(values[i]))
    elseif j == i then
      parts[#parts + 1] = num(values[i])
    elseif j == i + 1 then
      parts[#parts + 1] = num(values[i]); parts[#parts + 1] = num(values[j])
    else
      parts[#parts + 1] = say("w_to", num(values[i]), num(values[j]))
    end
    i = j + 1
  end
  return table.concat(parts, ", ")
end

---------------------------------------------------------------------------------------------
-- The case schema as domains: what values each case field can take
---------------------------------------------------------------------------------------------

-- A node: { kind = "object", fields = {name = node}, display = "patient" }
--         { kind = "elements", element = <object node>, display = "spine.lesions" }
--         { kind = "list", item = <scalar node>, unique, min_items, max_items, display }
--         { kind = "enum", values = {...} } | { kind = "bool" } | { kind = "string" }
--         { kind = "int", min, max, step } | { kind = "num", min, max }
local function schema_nodes(root, null)
  local contexts = {}   -- every elements node's element: where relative paths are read
  local all_paths = {}  -- every field's display path, for suggestions

  local function deref(s)
    local guard = 0
    while type(s) == "table" and type(s["$ref"]) == "string" and guard < 32 do
      local target = root
      for part in s["$ref"]:gsub("^#/?", ""):gmatch("[^/]+") do
        target = type(target) == "table" and target[part] or nil
      end
      s, guard = target, guard + 1
    end
    return type(s) == "table" and s or {}
  end

  local function types_of(s)
    local t = {}
    if type(s.type) == "string" then t[s.type] = true
    elseif type(s.type) == "table" then for _, x in ipairs(s.type) do t[x] = true end end
    return t
  end

  local function build(s, display)
    s = deref(s)
    local t = types_of(s)
    local enum = s.enum
    if s.const ~= nil then enum = { s.const } end
    if type(enum) == "table" then
      local values, bools = {}, true
      for _, v in ipairs(enum) do
        if v ~= null then values[#values + 1] = v; if type(v) ~= "boolean" then bools = false end end
      end
      if bools and #values > 0 then return { kind = "bool", values = values, display = display } end
      return { kind = "enum", values = values, display = display }
    end
    if t.object or type(s.properties) == "table" then
      local node = { kind = "object", fields = {}, display = display }
      local names = {}
      for name in pairs(s.properties or {}) do names[#names + 1] = name end
      table.sort(names)
      for _, name in ipairs(names) do
        local sub = display == "" and name or (display .. "." .. name)
        all_paths[#all_paths + 1] = sub
        node.fields[name] = build(s.properties[name], sub)
      end
      node.names = names
      return node
    end
    if t.array then
      local item = deref(s.items)
      local it_t = types_of(item)
      if it_t.object or type(item.properties) == "table" then
        local element = build(item, display .. "[]")
        local node = { kind = "elements", element = element, display = display }
        contexts[#contexts + 1] = element
        return node
      end
      return { kind = "list", item = build(item, display .. "[]"), unique = s.uniqueItems == true,
               min_items = s.minItems or 0, max_items = s.maxItems, display = display }
    end
    if t.boolean then return { kind = "bool", values = { true, false }, display = display } end
    if t.integer or t.number then
      local lo, hi = -INF, INF
      if type(s.minimum) == "number" then lo = s.minimum end
      if type(s.exclusiveMinimum) == "number" then lo = s.exclusiveMinimum + (t.integer and 1 or 0) end
      if type(s.maximum) == "number" then hi = s.maximum end
      if type(s.exclusiveMaximum) == "number" then hi = s.exclusiveMaximum - (t.integer and 1 or 0) end
      if t.integer then
        local step = math.tointeger(s.multipleOf) or 1
        return { kind = "int", min = lo, max = hi, step = step, display = display }
      end
      return { kind = "num", min = lo, max = hi, display = display }
    end
    return { kind = "string", display = display }
  end

  local top = build(root, "")
  return top, contexts, all_paths
end

-- lookup(ctx, "a.b"): the node at that path under the object node ctx, or nil.
local function lookup(ctx, path)
  if type(path) ~= "string" or not ctx then return nil end
  local node = ctx
  for part in path:gmatch("[^%.]+") do
    if not node or node.kind ~= "object" then return nil end
    node = node.fields[part]
  end
  return node
end

---------------------------------------------------------------------------------------------
-- The checker
---------------------------------------------------------------------------------------------

return function(P, schema, opts)
  opts = opts or {}
  lang = opts.lang == "fr" and "fr" or "en"
  local I = P.inspect()
  local NULL = I.null
  local findings = {}

  local flagged = {}   -- positions of constructs a static check reported: the probes say no more
  local function report(severity, pos, hint, message, forward)
    if pos then flagged[pos] = true end
    findings[#findings + 1] = { severity = severity, pos = pos, hint = hint, forward = forward or nil,
                                message = message }
  end
  local function err(pos, hint, message, forward) report("error", pos, hint, message, forward) end
  local function warn(pos, hint, message, forward) report("warning", pos, hint, message, forward) end

  local root, contexts, all_paths = schema_nodes(type(schema) == "table" and schema or {}, NULL)
  local proved = {}   -- items whose rows were proved against their domain

  -- A node for a path read in ctx (an object node, or nil when the context is not known:
  -- then the root and every element context are tried). Returns node, display path.
  local function resolve(path, ctx)
    if ctx then
      local n = lookup(ctx, path)
      if n then return n end
      return nil
    end
    local n = lookup(root, path)
    if n then return n end
    for _, c in ipairs(contexts) do
      n = lookup(c, path)
      if n then return n end
    end
    return nil
  end

  local function path_suggestion(path, ctx)
    local candidates = {}
    if ctx and ctx ~= root then
      for _, name in ipairs(ctx.names or {}) do candidates[#candidates + 1] = name end
    else
      for _, p in ipairs(all_paths) do candidates[#candidates + 1] = p end
      for _, c in ipairs(contexts) do
        for _, name in ipairs(c.names or {}) do candidates[#candidates + 1] = name end
      end
    end
    return suggest(path, candidates)
  end

  -- Reports a path no context defines; returns the node when it exists.
  local function check_path(path, ctx, pos, hint_pos)
    local node = resolve(path, ctx)
    if node then return node end
    if ctx and ctx ~= root then
      err(pos, '"' .. path .. '"', say("field_unknown_in", path, ctx.display:gsub("%[%]$", ""), path_suggestion(path, ctx)), true)
    else
      err(pos, '"' .. path .. '"', say("field_unknown", path, path_suggestion(path, nil)), true)
    end
    return nil
  end

  ---------------------------------------------------------------------------------------------
  -- Domains of inputs
  ---------------------------------------------------------------------------------------------

  -- The values an item or classification reads, as { kind = "enum"|"bool", values } or
  -- { kind = "int"|"num", min, max, step }, with `display` naming them; nil when unknown.
  local function domain_of(input, declared, ctx, owner_pos, what)
    if type(input) == "string" then
      local node = check_path(input, ctx, owner_pos)
      if not node then return nil, true end
      return node
    end
    if declared ~= nil then
      if type(declared) == "string" then
        local node = resolve(declared, nil)
        if not node then
          err(owner_pos, '"' .. declared .. '"', say("bad_domain", what, declared, path_suggestion(declared, nil)), true)
          return nil, true
        end
        return node
      end
      if getmetatable(declared) == I.matcher_mt and declared.lo ~= nil then
        return { kind = "int", min = declared.lo, max = declared.hi, step = 1,
                 display = I.row_when(declared) }
      end
      if type(declared) == "table" then
        local values = {}
        for _, v in ipairs(declared) do values[#values + 1] = v end
        return { kind = "enum", values = values, display = join(values, ", ", quote) }
      end
    end
    local d = type(input) == "function" and I.desc(input)
    if d and d.op == "result" then
      -- result "frankel.deficit": the classes the classification's rows give
      local name, field = d[1]:match("^([^%.]+)%.([^%.]+)$")
      local o = name and I.output_by_name[name]
      if o and o.kind == "classification" and field == o.gives then
        local values, seen = {}, {}
        for _, r in ipairs(o.rows) do
          local v = r.attrs[o.gives]
          if v ~= nil and not seen[v] then seen[v] = true; values[#values + 1] = v end
        end
        return { kind = "enum", values = values, display = d[1] }
      end
      return nil
    end
    return nil
  end

  ---------------------------------------------------------------------------------------------
  -- Rows: every value of the domain in exactly one row
  ---------------------------------------------------------------------------------------------

  local function row_matches(r, v)
    local ok, res = pcall(r.when.test, v)
    return ok and res == true
  end

  -- integer values to test for a numeric domain: every value from the lowest limit up to
  -- one step past the highest finite limit, then one value standing for all above it.
  local function numeric_samples(dom, rows)
    local lo, hi, step = dom.min, dom.max, dom.step or 1
    local top = lo ~= -INF and lo or 0
    local bottom = top
    for _, r in ipairs(rows) do
      local m = r.when
      for _, x in ipairs({ m.lo, m.hi, m.literal }) do
        if type(x) == "number" and x ~= INF and x ~= -INF then
          if x > top then top = x end
          if x < bottom then bottom = x end
        end
      end
    end
    if lo == -INF then lo = bottom - step end
    local values, tail = {}, nil
    local first = lo
    if dom.kind == "int" and lo ~= -INF then first = math.tointeger(lo) or lo end
    local v = first
    local limit = math.min(hi, top + step)
    local count = 0
    while v <= limit and count < 5000 do
      values[#values + 1] = v
      v = v + step
      count = count + 1
    end
    if hi > limit then
      tail = (hi == INF) and (limit + step * 1000) or hi
    end
    return values, tail
  end

  local function check_rows(owner, rows, dom, what, pos)
    -- rows given by a function cannot be proved: skip the table
    for _, r in ipairs(rows) do if r.when.custom then return end end
    local row_hit = {}
    if dom.kind == "enum" or dom.kind == "bool" then
      local gaps = {}
      for _, v in ipairs(dom.values) do
        local first
        for _, r in ipairs(rows) do
          if row_matches(r, v) then
            row_hit[r] = true
            if first then
              err(r.pos, "row", say("overlap_value", what, say("w_the_value", quote(v)), line_of(first.pos)))
            else
              first = r
            end
          end
        end
        if not first then gaps[#gaps + 1] = quote(v) end
      end
      if #gaps > 0 then
        err(pos, nil, say("gap_values", what, say(#gaps == 1 and "w_the_value" or "w_the_values", table.concat(gaps, ", ")),
                          dom.display ~= "" and dom.display or "?"))
      end
      for _, r in ipairs(rows) do
        if not row_hit[r] then
          local lit = r.when.literal
          err(r.pos, "row", say("dead_row", what, dom.display, join(dom.values, ", ", quote),
                                 suggest(type(lit) == "string" and lit or nil, dom.values)))
        end
      end
    elseif dom.kind == "int" or dom.kind == "num" then
      local values, tail = numeric_samples(dom, rows)
      local step = dom.step or 1
      if dom.kind == "num" then   -- numbers with a fraction: the halves between whole values too
        local with_halves = {}
        for i, v in ipairs(values) do
          with_halves[#with_halves + 1] = v
          if i < #values or tail then with_halves[#with_halves + 1] = v + 0.5 end
        end
        values, step = with_halves, 0.5
      end
      if tail then values[#values + 1] = tail end
      local gaps, gap_tail = {}, false
      local overlaps = {}   -- row -> { values, first row }
      for _, v in ipairs(values) do
        local first
        for _, r in ipairs(rows) do
          if row_matches(r, v) then
            row_hit[r] = true
            if first then
              local o = overlaps[r] or { values = {}, first = first }
              overlaps[r] = o
              if v ~= tail then o.values[#o.values + 1] = v else o.tail = true end
            else
              first = r
            end
          end
        end
        if not first then
          if v == tail then gap_tail = true else gaps[#gaps + 1] = v end
        end
      end
      if #gaps > 0 or gap_tail then
        local text = runs_text(gaps, step, gap_tail)
        if gap_tail and #gaps == 0 then text = say("w_and_more", num(values[#values - 1] + step)) end
        local many = #gaps + (gap_tail and 2 or 0) > 1
        err(pos, nil, say("gap_values", what, say(many and "w_the_values" or "w_the_value", text), dom.display))
      end
      for _, r in ipairs(rows) do
        local o = overlaps[r]
        if o then
          local text = runs_text(o.values, step, o.tail)
          local many = #o.values + (o.tail and 2 or 0) > 1
          err(r.pos, "row", say("overlap_value", what, say(many and "w_the_values" or "w_the_value", text), line_of(o.first.pos)))
        end
      end
      for _, r in ipairs(rows) do
        if not row_hit[r] then
          local range = (dom.min == -INF and "" or num(dom.min)) .. ".." .. (dom.max == INF and "" or num(dom.max))
          err(r.pos, "row", say("dead_row", what, dom.display, range, ""))
        end
      end
    end
  end

  local function check_labels(rows, what)
    if opts.errors_only then return end -- a repeated label is a warning
    for _, lang_key in ipairs({ "fr", "en" }) do
      local seen = {}
      for _, r in ipairs(rows) do
        local label = r[lang_key]
        if type(label) == "string" then
          if seen[label] then
            warn(r.pos, "row", say("duplicate_label", what, say("w_" .. lang_key), "'" .. label .. "'", line_of(seen[label].pos)))
          else
            seen[label] = r
          end
        end
      end
    end
  end

  local function check_sources(list, word_key, name_of)
    for _, x in ipairs(list) do
      if type(x.source) ~= "string" or x.source == "" then
        local what = name_of and say(word_key, name_of(x)) or say(word_key)
        err(x.pos, word_key:gsub("^w_", ""), say("no_source", what))
      end
    end
  end

  ---------------------------------------------------------------------------------------------
  -- Scores: points, bands
  ---------------------------------------------------------------------------------------------

  -- reachable totals: a set, and for each total one choice of rows giving it
  local function reachable(s)
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

  local function sorted_keys(set)
    local list = {}
    for k in pairs(set) do list[#list + 1] = k end
    table.sort(list)
    return list
  end

  local function item_points_text(s, pick)
    local parts = {}
    for i, it in ipairs(s.items) do parts[i] = it.name .. " " .. pick(it) end
    return table.concat(parts, " + ")
  end

  local function check_score(s)
    local score_what = say("w_score", s.name)
    local ctx = root
    if type(s.each) == "string" then
      local node = check_path(s.each, nil, s.pos)
      ctx = node and node.kind == "elements" and node.element or nil
    end
    for _, it in ipairs(s.items) do
      local what = say("w_item", it.name, s.name)
      local dom = domain_of(it.input, it.domain, ctx, it.pos, what)
      -- an input computed by a function without a declared domain is left to the probes,
      -- which report any value it gives that no row holds
      if dom then
        check_rows(it, it.rows, dom, what, it.pos)
        proved[it] = true   -- a gap is reported once, here, not again by the probes
      end
      for _, r in ipairs(it.rows) do
        if r.points < 0 then err(r.pos, "points", say("points_negative", what, r.points)) end
        if it.declared_max and r.points > it.declared_max then
          err(r.pos, "points", say("points_over_item_max", what, r.points, it.declared_max))
        end
      end
      check_labels(it.rows, what)
      check_sources(it.rows, "w_row")
    end
    if s.declared_max then
      if s.max > s.declared_max then
        err(s.pos, "score", say("points_over_score_max", score_what, s.declared_max, s.max,
                                item_points_text(s, function(it) return tostring(it.max) end)))
      end
    else
      warn(s.pos, "score", say("no_declared_max", score_what))
    end

    local reach = reachable(s)
    local hi_total = math.max(s.max, s.declared_max or s.max)
    for _, b in ipairs(s.bands) do
      local bands_what = say("w_bands", b.name, s.name)
      local ids = {}
      for _, x in ipairs(b.list) do
        if ids[x.id] then
          err(x.pos, "band", say("band_duplicate", bands_what, x.id, line_of(ids[x.id].pos)))
        else
          ids[x.id] = x
        end
      end
      -- every total from the lowest to the highest (reachable or declared) in one band
      local gaps, gaps_unreached = {}, {}
      local overlaps = {}
      for t = s.min, hi_total do
        local first
        for _, x in ipairs(b.list) do
          if t >= x.lo and t <= x.hi then
            if first then
              local o = overlaps[x] or { values = {}, first = first }
              overlaps[x] = o
              o.values[#o.values + 1] = t
            else
              first = x
            end
          end
        end
        if not first then
          if reach[t] then gaps[#gaps + 1] = t else gaps_unreached[#gaps_unreached + 1] = t end
        end
      end
      if #gaps > 0 then
        err(b.pos, "bands", say("band_gap", bands_what,
                                say(#gaps == 1 and "w_the_total" or "w_the_totals", runs_text(gaps, 1, false))))
      end
      if #gaps_unreached > 0 then
        warn(b.pos, "bands", say("band_gap_unreachable", bands_what,
                                 say(#gaps_unreached == 1 and "w_the_total" or "w_the_totals", runs_text(gaps_unreached, 1, false))))
      end
      for _, x in ipairs(b.list) do
        local o = overlaps[x]
        if o then
          err(x.pos, "band", say("band_overlap", say("w_band", x.id),
                                 say(#o.values == 1 and "w_the_total" or "w_the_totals", runs_text(o.values, 1, false)),
                                 o.first.id, line_of(o.first.pos)))
        end
      end
      check_sources(b.list, "w_band", function(x) return x.id end)
      -- bands no total reaches: say why (warnings)
      for _, x in ipairs(opts.errors_only and {} or b.list) do
        local hit = false
        for t in pairs(reach) do if t >= x.lo and t <= x.hi then hit = true; break end end
        if not hit then
          if x.lo > s.max then
            local short = {}
            for _, it in ipairs(s.items) do
              if it.declared_max and it.max < it.declared_max then
                short[#short + 1] = say("item_short", it.name, it.max, it.declared_max)
              end
            end
            warn(x.pos, "band", say("band_above", x.id, s.name, b.name, x.lo, s.max,
                                    item_points_text(s, function(it) return tostring(it.max) end),
                                    (s.declared_max and say("out_of", s.declared_max) or "") ..
                                    (#short > 0 and say("short_of_max", table.concat(short, ", ")) or "")))
          elseif x.hi < s.min then
            warn(x.pos, "band", say("band_below", x.id, s.name, b.name, x.hi, s.min,
                                    item_points_text(s, function(it) return tostring(it.min) end)))
          else
            local limits = (x.lo == -INF and "" or num(x.lo)) .. ".." .. (x.hi == INF and "" or num(x.hi))
            warn(x.pos, "band", say("band_between", x.id, s.name, b.name, limits))
          end
        end
      end
    end
  end

  local function check_classification(c)
    local what = say("w_classification", c.name)
    local dom = domain_of(c.input, c.domain, root, c.pos, what)
    if dom then check_rows(c, c.rows, dom, what, c.pos) end
    check_labels(c.rows, what)
    check_sources(c.rows, "w_row")
  end

  ---------------------------------------------------------------------------------------------
  -- Conditions: the fields they name, the values they compare with
  ---------------------------------------------------------------------------------------------

  local function type_word(node)
    if node.kind == "int" or node.kind == "num" then return say("w_number") end
    if node.kind == "bool" then return say("w_boolean") end
    return say("w_string")
  end

  local function value_fits(node, v)
    if node.kind == "enum" or node.kind == "bool" then
      for _, x in ipairs(node.values) do if x == v then return true end end
      return false
    end
    if node.kind == "int" or node.kind == "num" then return type(v) == "number" end
    if node.kind == "string" then return type(v) == "string" end
    return true
  end

  local function check_values(node, values, pos, sentence)
    local target = node
    if node.kind == "list" then target = node.item end
    for _, v in ipairs(values) do
      if not value_fits(target, v) then
        if target.kind == "enum" then
          err(pos, type(v) == "string" and ('"' .. v .. '"') or nil,
              say("value_not_in_enum", say("w_condition", sentence), quote(v), target.display,
                  join(target.values, ", ", quote)) .. suggest(v, target.values), true)
        else
          err(pos, nil, say("value_wrong_type", say("w_condition", sentence), quote(v), type_word(target), target.display), true)
        end
      end
    end
  end

  local function check_numeric(node, op, n, pos, sentence)
    if node.kind ~= "int" and node.kind ~= "num" then
      err(pos, nil, say("value_wrong_type", say("w_condition", sentence), quote(n), type_word(node), node.display), true)
      return
    end
    local never
    if op == "<" and node.min >= n then never = say("w_at_least", num(node.min))
    elseif op == "<=" and node.min > n then never = say("w_at_least", num(node.min))
    elseif op == ">=" and node.max < n then never = say("w_at_most", num(node.max)) end
    if never then
      warn(pos, nil, say("never_true_numeric", say("w_condition", sentence), node.display, never), true)
    end
  end

  -- walks a condition built by the vocabulary; ctx is the object node its paths are read in
  -- (nil when unknown). pos is the position of the construct holding it.
  local function check_condition(fn, ctx, pos)
    if type(fn) ~= "function" then return end
    local d = I.desc(fn)
    if not d then return end
    local op = d.op
    if op == "any_of" or op == "all_of" then
      for _, c in ipairs(d[1] or {}) do check_condition(c, ctx, pos) end
    elseif op == "not" then
      check_condition(d[1], ctx, pos)
    elseif op == "for_any" then
      local inner = nil
      if type(d[1]) == "string" then
        local node = check_path(d[1], ctx, pos)
        if node and node.kind == "elements" then inner = node.element end
        if not node then return end
      end
      check_condition(d[2], inner, pos)
    elseif type(d[1]) == "string" and (op == "is" or op == "is_one_of" or op == "includes_any"
                                       or op == "<" or op == "<=" or op == ">=" or op == "in_levels") then
      local node = check_path(d[1], ctx, pos)
      if not node then return end
      local sentence = I.how(fn)
      if op == "is" then check_values(node, { d[2] }, pos, sentence)
      elseif op == "is_one_of" or op == "includes_any" then check_values(node, d[2] or {}, pos, sentence)
      elseif op == "<" or op == "<=" or op == ">=" then check_numeric(node, op, d[2], pos, sentence) end
    end
  end

  local function check_checks(list, word_key)
    for _, c in ipairs(list) do
      local ctx = root
      if c.each ~= nil then
        ctx = nil
        if type(c.each) == "string" then
          local node = check_path(c.each, nil, c.pos)
          ctx = node and node.kind == "elements" and node.element or nil
        end
      end
      check_condition(c.when, ctx, c.pos)
    end
    check_sources(list, word_key, function(c) return c.id end)
  end

  ---------------------------------------------------------------------------------------------
  -- Static checks of every output
  ---------------------------------------------------------------------------------------------

  for _, o in ipairs(I.outputs) do
    if o.kind == "score" then
      check_score(o)
    elseif o.kind == "classification" then
      check_classification(o)
    elseif o.kind == "contraindications" then
      for _, c in ipairs(o.entries) do
        check_condition(c.when, root, c.pos)
        check_condition(c.relative_when, root, c.pos)
      end
      check_sources(o.entries, "w_contraindication", function(c) return c.id end)
    elseif o.kind == "decision" then
      for _, s in ipairs(o.steps) do check_condition(s.when, root, s.pos) end
      check_sources(o.steps, "w_step", function(s) return s.id end)
    elseif o.kind == "findings" then
      check_checks(o.checks, "w_check")
    elseif o.kind == "risk" then
      check_condition(o.raised_when, root, o.pos)
      check_checks(o.factors, "w_factor")
    end
  end

  if not opts.probe then return findings end

  -- the probes (`check` only): engine/probe.lua, compiled only when they are asked for
  opts.probes({ messages = MSG, say = say, quote = quote, join = join, lookup = lookup, I = I, NULL = NULL, P = P, root = root,
                resolve = resolve, path_suggestion = path_suggestion, reachable = reachable,
                sorted_keys = sorted_keys, proved = proved, flagged = flagged, findings = findings,
                err = err, warn = warn })
  return findings
end
