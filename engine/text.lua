-- text.lua: one result as plain UTF-8 text, in French or English, as a clinician would paste
-- it into the record of a multidisciplinary meeting (`spinerules eval --format text`).
--
-- Trusted host code, like the prelude: engine/text.c loads it once per engine, in the rule
-- set's state with the state's real globals, and calls the function it returns:
--
--   render(result, describe, lang, null, translate) -> text
--     result    one record as the engine writes it (a result, or an error record)
--     describe  P.describe(): the rule set's structure (labels of bands, declared maxima)
--     lang      "fr" or "en"
--     null      the sentinel the engine writes as null
--     translate a function giving a validator's (English) message in lang
--
-- Every label comes from the result or the rule set (the chapter's wording in French, its
-- translation in English); this file only holds the words around them. The text depends on
-- nothing but its arguments, so the same result always reads the same.

local WORDS = {
  case = { fr = "Cas", en = "Case" },
  ruleset = { fr = "règles", en = "rules" },
  recommendation = { fr = "Recommandation", en = "Recommendation" },
  reason = { fr = "Motif", en = "Reason" },
  caveat = { fr = "Réserve", en = "Caveat" },
  caveat_text = { fr = "non déterminé faute de données, pourrait s'appliquer",
                  en = "not settled for lack of data, could apply" },
  points = { fr = "pts", en = "pts" },
  point = { fr = "pt", en = "pt" },
  total = { fr = "Total", en = "Total" },
  out_of = { fr = "sur", en = "out of" },
  range_of = { fr = "de %s à %s", en = "%s to %s" },
  incomplete = { fr = "incomplet", en = "incomplete" },
  not_given = { fr = "non renseigné", en = "not given" },
  unmatched = { fr = "valeur hors table", en = "value outside the table" },
  allows = { fr = "possible : %s", en = "possible: %s" },
  at_least = { fr = "au moins %s", en = "at least %s" },
  between = { fr = "entre %s et %s", en = "between %s and %s" },
  indeterminate = { fr = "indéterminé", en = "indeterminate" },
  one_of = { fr = "%s ou %s", en = "%s or %s" },
  grade = { fr = "Grade", en = "Grade" },
  deficit = { fr = "déficit", en = "deficit" },
  no_lesion = { fr = "Aucune lésion décrite.", en = "No lesion described." },
  contraindications = { fr = "Contre-indications", en = "Contraindications" },
  absolute = { fr = "absolue", en = "absolute" },
  relative = { fr = "relative", en = "relative" },
  present_f = { fr = "PRÉSENTE", en = "PRESENT" },
  absent_f = { fr = "absente", en = "absent" },
  unknown_f = { fr = "inconnue (données manquantes)", en = "unknown (data missing)" },
  present_m = { fr = "présent", en = "present" },
  absent_m = { fr = "absent", en = "absent" },
  unknown_m = { fr = "inconnu (données manquantes)", en = "unknown (data missing)" },
  applies = { fr = "s'applique", en = "applies" },
  does_not_apply = { fr = "ne s'applique pas", en = "does not apply" },
  unknown_note = { fr = "à préciser (données manquantes)", en = "to be settled (data missing)" },
  missing = { fr = "manquant", en = "missing" },
  not_recorded = { fr = "non renseigné", en = "not recorded" },
  done = { fr = "fait", en = "done" },
  at_levels = { fr = "en %s", en = "at %s" },
  possibly_at = { fr = "peut-être en %s", en = "possibly at %s" },
  risk_raised = { fr = "%s : %s", en = "%s: %s" },
  risk_factors = { fr = "Facteurs de risque", en = "Risk factors" },
  nothing_missing = { fr = "Rien ne manque.", en = "Nothing is missing." },
  error = { fr = "ERREUR", en = "ERROR" },
  at_line = { fr = "ligne %s", en = "line %s" },
  column = { fr = "colonne %s", en = "column %s" },
  warnings = { fr = "Avertissements", en = "Warnings" },
  note = { fr = "Note", en = "Note" },
}

local OUTCOMES = {   -- outcomes a decision gives that no band names
  contraindicated = { fr = "chirurgie contre-indiquée", en = "surgery contraindicated" },
  indeterminate = { fr = "indéterminée faute de données", en = "indeterminate for lack of data" },
}

local CODES = {      -- codes a classification gives, and names of band readings
  complete = { fr = "complet", en = "complete" },
  incomplete = { fr = "incomplet", en = "incomplete" },
  none = { fr = "aucun", en = "none" },
  unknown = { fr = "inconnu", en = "unknown" },
  category = { fr = "Catégorie", en = "Category" },
  survival = { fr = "Survie", en = "Survival" },
  surgery = { fr = "Chirurgie", en = "Surgery" },
}

local TITLES = {     -- section titles for lists of findings, by output name
  local_indications = { fr = "Critères locaux", en = "Local criteria" },
  technique_notes = { fr = "Notes techniques", en = "Technique notes" },
  missing_workup = { fr = "Bilan manquant", en = "Missing work-up" },
}

return function(result, describe, lang, null, translate)
  lang = lang == "en" and "en" or "fr"
  local out = {}
  local function line(s) out[#out + 1] = s end
  local function w(key) return WORDS[key][lang] end
  local function label(t) -- a table's label in lang
    if type(t) ~= "table" then return nil end
    local s = t[lang]
    if type(s) ~= "string" then s = t.fr or t.en end
    return type(s) == "string" and s or nil
  end
  local function given(v) return v ~= nil and v ~= null end
  -- a value as text: tostring for a string, number or boolean (nil stays "nil"); null is "?";
  -- a table (which tostring would print as its address, different in every run) shows its
  -- label when it has one, else its items -- a list's joined by ", ", a map's as "key: value"
  -- in key order -- nested ones in parentheses, three levels deep at most
  local function show(v, depth)
    if v == null then return "?" end
    if type(v) ~= "table" then return tostring(v) end
    depth = depth or 0
    local function inner(x)
      local t = show(x, depth + 1)
      return type(x) == "table" and not label(x) and "(" .. t .. ")" or t
    end
    if label(v) then return label(v) end
    if depth >= 3 then return "…" end
    local parts, keys = {}, {}
    for i, x in ipairs(v) do parts[i] = inner(x) end
    for k in pairs(v) do
      if not (math.type(k) == "integer" and k >= 1 and k <= #parts) then keys[#keys + 1] = k end
    end
    table.sort(keys, function(a, b)
      if type(a) == type(b) and (type(a) == "string" or type(a) == "number") then return a < b end
      return type(a) < type(b)
    end)
    for _, k in ipairs(keys) do parts[#parts + 1] = show(k, depth + 1) .. ": " .. inner(v[k]) end
    return table.concat(parts, ", ")
  end
  local function tr(msg) return translate and translate(show(msg)) or show(msg) end
  local function code(c) return CODES[c] and CODES[c][lang] or show(c) end
  local function src(t)
    if type(t) == "table" and type(t.source) == "string" then return " [" .. t.source .. "]" end
    return ""
  end
  local function pts(n)
    return show(n) .. " " .. ((n == 1 or n == 0 and lang == "fr") and w("point") or w("points"))
  end
  local function list(t) return show(t or {}) end
  local function width(s) return utf8.len(s) or #s end
  local function pad(s, n) return s .. string.rep(" ", math.max(0, n - width(s))) end
  local function limits(r)
    if type(r) ~= "table" then return "" end
    local lo, hi = r[1], r[2]
    if given(lo) and given(hi) then
      if lo == hi then return show(lo) end
      return show(lo) .. "-" .. show(hi)
    end
    if given(lo) then return "≥ " .. show(lo) end
    if given(hi) then return "≤ " .. show(hi) end
    return ""
  end

  -- the rule set's structure, by output name
  local outputs = {}
  for _, o in ipairs(type(describe) == "table" and describe.outputs or {}) do outputs[o.name] = o end
  local function band_label(id)
    for _, o in ipairs(type(describe) == "table" and describe.outputs or {}) do
      for _, b in ipairs(o.bands or {}) do
        for _, x in ipairs(b.list or {}) do
          if x.id == id then return label(x) end
        end
      end
    end
    return nil
  end

  ---------------------------------------------------------------------------------------------
  -- heading
  ---------------------------------------------------------------------------------------------
  local id = given(result.id) and show(result.id) or "?"
  local rs = result.ruleset
  local head = w("case") .. " " .. id
  if type(rs) == "table" and rs.name then
    head = head .. " — " .. w("ruleset") .. " " .. show(rs.name) .. " " .. show(rs.version)
  end
  line(string.rep("=", 72))
  line(head)
  if type(rs) == "table" and rs.digest then line(show(rs.digest)) end
  line(string.rep("=", 72))

  local colon = lang == "fr" and " : " or ": "
  if type(result.error) == "table" then
    local e = result.error
    local where = {}
    if given(e.path) then where[#where + 1] = show(e.path) end
    if given(e.line) then where[#where + 1] = string.format(w("at_line"), show(e.line)) end
    if given(e.column) then where[#where + 1] = string.format(w("column"), show(e.column)) end
    line(w("error") .. colon .. tr(e.message) .. (#where > 0 and (" (" .. table.concat(where, ", ") .. ")") or ""))
    for _, x in ipairs(type(result.errors) == "table" and result.errors or {}) do
      if x ~= e then
        local at = given(x.path) and (show(x.path) .. ": ") or ""
        line("  - " .. at .. tr(x.message))
      end
    end
    line("")
    return table.concat(out, "\n") .. "\n"
  end

  ---------------------------------------------------------------------------------------------
  -- recommendation, with the step that decided it and the caveats
  ---------------------------------------------------------------------------------------------
  if given(result.recommendation) then
    local r = result.recommendation
    local text = OUTCOMES[r] and OUTCOMES[r][lang] or band_label(r) or show(r)
    line("")
    line(w("recommendation") .. colon .. text .. " (" .. show(r) .. ")")
    local reason = result.recommendation_reason
    if type(reason) == "table" then
      line("  " .. w("reason") .. colon .. (label(reason) or "") .. src(reason))
    end
    for _, c in ipairs(type(result.recommendation_caveats) == "table" and result.recommendation_caveats or {}) do
      line("  " .. w("caveat") .. colon .. (label(c) or "") .. " — " .. w("caveat_text") .. src(c))
    end
  end

  ---------------------------------------------------------------------------------------------
  -- classification (Frankel)
  ---------------------------------------------------------------------------------------------
  local function classification(name, r)
    local o = outputs[name] or {}
    line("")
    line((label(o) or name) .. src(o))
    local value = r[o.value_key or "value"]
    local class = r[o.gives or "class"]
    if given(value) then
      line("  " .. w("grade") .. " " .. show(value) .. colon .. (label(r) or "") ..
           " — " .. w("deficit") .. " " .. code(class))
    else
      line("  " .. w("not_given") .. " — " .. w("deficit") .. " " .. code(class))
    end
  end

  ---------------------------------------------------------------------------------------------
  -- scores: every item with its row and points, unknown items with their range
  ---------------------------------------------------------------------------------------------
  local function score(name, r, key)
    local o = outputs[name] or {}
    local title = label(o) or name
    if key and given(r[key]) then title = title .. ", " .. show(r[key]) end
    local total
    if given(r.total) then
      total = show(r.total)
    else
      total = string.format(w("range_of"), show(r.min), show(r.max)) .. " (" .. w("incomplete") .. ")"
    end
    if o.declared_max then total = total .. " " .. w("out_of") .. " " .. show(o.declared_max) end
    line("")
    line(title .. src(o))
    local rows, wide = {}, 0
    for _, it in ipairs(o.items or {}) do
      local e = type(r.items) == "table" and r.items[it.name] or nil
      if type(e) == "table" then
        local name_text = label(e) or it.name
        local value = e.value
        local shown
        if given(e.points) then
          shown = label(e.row) or ""
          if type(value) == "number" then      -- a count: "2 (1-2)", or "1" when the row says 1
            shown = shown == show(value) and shown or (show(value) .. " (" .. shown .. ")")
          elseif type(value) == "string" and value:match("^%u%d*$") then   -- a level: "T12 — Junctional"
            shown = value .. " — " .. shown
          end
          shown = shown .. " — " .. pts(e.points)
        else
          local why
          if type(e.note) == "table" and label(e.note) then why = label(e.note)
          elseif e.unmatched then why = w("unmatched") .. " (" .. show(value) .. ")"
          elseif type(e.value_range) == "table" then
            local lo, hi = e.value_range[1], e.value_range[2]
            if given(hi) then why = string.format(w("between"), show(lo), show(hi))
            else why = string.format(w("at_least"), show(lo)) end
          else why = w("not_given") end
          local range = type(e.range) == "table" and e.range or {}
          local lo, hi = range[1], range[2]
          local possible = (lo == hi) and pts(lo) or string.format(w("range_of"), show(lo), pts(hi))
          shown = why .. " — " .. string.format(w("allows"), possible)
        end
        if given(e.points) and type(e.note) == "table" and label(e.note) then
          shown = shown .. " (" .. label(e.note) .. ")"
        end
        rows[#rows + 1] = { name_text, shown }
        if width(name_text) > wide then wide = width(name_text) end
      end
    end
    for _, b in ipairs(o.bands or {}) do
      if width(code(b.name)) > wide then wide = width(code(b.name)) end
    end
    for _, row in ipairs(rows) do line("  " .. pad(row[1], wide) .. "  " .. row[2]) end
    line("  " .. pad(w("total"), wide) .. "  " .. total)
    for _, b in ipairs(o.bands or {}) do
      local d = type(r.bands) == "table" and r.bands[b.name] or nil
      local id = r[b.name]
      local text
      if id == "indeterminate" and type(d) == "table" then
        local names = {}
        for i, c in ipairs(type(d.candidates) == "table" and d.candidates or {}) do names[i] = band_label(c) or show(c) end
        local alternatives = names[1] or ""
        if #names > 1 then
          alternatives = string.format(w("one_of"), table.concat(names, ", ", 1, #names - 1), names[#names])
        end
        text = w("indeterminate") .. " (" .. alternatives .. ")"
      elseif type(d) == "table" then
        text = (label(d) or show(id)) .. " (" .. limits(d.range) .. ")"
      else
        text = show(id)
      end
      local bands_name = code(b.name)
      local first = type(d) == "table" and d or b
      line("  " .. pad(bands_name, wide) .. "  " .. text .. src(first))
    end
  end

  ---------------------------------------------------------------------------------------------
  -- contraindications, findings, risk
  ---------------------------------------------------------------------------------------------
  local STATUS_F = { present = "present_f", absent = "absent_f", unknown = "unknown_f" }
  local STATUS_M = { present = "present_m", absent = "absent_m", unknown = "unknown_m", applies = "applies",
                     does_not_apply = "does_not_apply", missing = "missing", not_recorded = "not_recorded",
                     done = "done" }

  local function where_text(e)
    local parts = {}
    if type(e.levels) == "table" and #e.levels > 0 then parts[#parts + 1] = string.format(w("at_levels"), list(e.levels)) end
    if type(e.possible_levels) == "table" and #e.possible_levels > 0 then
      parts[#parts + 1] = string.format(w("possibly_at"), list(e.possible_levels))
    end
    if #parts == 0 then return "" end
    return " (" .. table.concat(parts, "; ") .. ")"
  end

  local function contraindications(list_)
    local o = outputs.contraindications or {}
    line("")
    line(w("contraindications") .. src(o.entries and o.entries[1] or o))
    for _, c in ipairs(list_) do
      local status = STATUS_F[c.status] and w(STATUS_F[c.status]) or show(c.status)
      local kind = WORDS[c.kind] and w(c.kind) or show(c.kind)
      line("  - " .. (label(c) or show(c.id)) .. colon .. status .. ", " .. kind .. src(c))
    end
  end

  local function findings(name, list_)
    local title = TITLES[name] and TITLES[name][lang] or name
    local o = outputs[name] or {}
    line("")
    line(title .. src(o))
    if #list_ == 0 then line("  " .. w("nothing_missing")) end
    local notes = name == "technique_notes"
    for _, e in ipairs(list_) do
      local status = e.status
      local word = (notes and status == "unknown") and w("unknown_note")
                   or (STATUS_M[status] and w(STATUS_M[status]) or show(status))
      line("  - " .. (label(e) or show(e.id)) .. colon .. word .. where_text(e))
    end
  end

  local function risk(r)
    line("")
    local rate
    if given(r.base_percent) then
      rate = show(r.base_percent) .. " %"
    elseif type(r.range) == "table" then
      rate = string.format(w("range_of"), show(r.range[1]), show(r.range[2])) .. " %"
    else
      rate = "?"
    end
    line((label(r) or "risk") .. colon .. rate .. src(r))
    if type(r.raised_by) == "table" then
      local st = STATUS_F[r.raised_by.status] and w(STATUS_F[r.raised_by.status]) or show(r.raised_by.status)
      line("  " .. (label(r.raised_by) or "") .. colon .. st)
    end
    if type(r.factors) == "table" and #r.factors > 0 then
      line("  " .. w("risk_factors") .. colon:gsub(" $", ""))
      for _, f in ipairs(r.factors) do
        local st = STATUS_M[f.status] and w(STATUS_M[f.status]) or show(f.status)
        line("  - " .. (label(f) or show(f.id)) .. colon .. st .. where_text(f) .. src(f))
      end
    end
  end

  ---------------------------------------------------------------------------------------------
  -- the outputs, in the order the rule set computes them
  ---------------------------------------------------------------------------------------------
  for _, o in ipairs(type(describe) == "table" and describe.outputs or {}) do
    local r = result[o.name]
    if r ~= nil and r ~= null then
      if o.kind == "classification" then
        classification(o.name, r)
      elseif o.kind == "score" then
        if o.each then
          if #r == 0 then
            line("")
            line((label(o) or o.name) .. src(o))
            line("  " .. w("no_lesion"))
          end
          for _, one in ipairs(r) do score(o.name, one, o.key) end
        else
          score(o.name, r, nil)
        end
      elseif o.kind == "contraindications" then
        contraindications(r)
      elseif o.kind == "findings" then
        findings(o.name, r)
      elseif o.kind == "risk" then
        risk(r)
      end
    end
  end

  if type(result.warnings) == "table" and #result.warnings > 0 then
    line("")
    line(w("warnings") .. colon:gsub(" $", ""))
    for _, x in ipairs(result.warnings) do
      local at = given(x.path) and (show(x.path) .. ": ") or ""
      line("  - " .. at .. tr(x.message))
    end
  end
  line("")
  return table.concat(out, "\n") .. "\n"
end
