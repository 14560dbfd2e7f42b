-- Section 6 - Quelles sont les contraintes et effets secondaires d'une neurochirurgie
-- rachidienne ?
-- "Dans l'étude de Wise (149), le taux de complications est de 20% (40% en cas de
-- localisation sacrée) [...] Les facteurs prédictifs de complication sont essentiellement
-- l'état neurologique préopératoire, l'état général préopératoire et l'existence d'une
-- radiothérapie préopératoire du site à traiter."

local COMPLICATION_RATE_PERCENT        = 20   -- section 6: "le taux de complications est de 20%"
local SACRAL_COMPLICATION_RATE_PERCENT = 40   -- section 6: "40% en cas de localisation sacrée"
local SACRAL_LEVELS = "S1-S5"                 -- sacrum: S1 to S5

-- A sacral localisation: one of the lesions assessed in detail (the ones surgery may treat)
-- is sacral. When the lesions do not settle it (none given, or one without a level), the
-- list of involved vertebrae decides if it holds no sacral level; otherwise unknown.
local any_sacral_lesion = for_any("spine.lesions", in_levels("level", SACRAL_LEVELS))
local function sacral_localisation(case, _, results)
  local verdict = any_sacral_lesion(case, case, results)
  if verdict ~= unknown then return verdict end
  local involved = value_of("spine.metastatic_levels", case)
  if involved == nil then return unknown end
  for _, level in ipairs(involved) do
    if segment_of(level) == "S" then return unknown end
  end
  return false
end

risk "complication_risk" {
  fr = "Risque de complications post-opératoires (étude de Wise)",
  en = "Risk of postoperative complications (Wise study)",
  source = "section 6",
  base_percent = COMPLICATION_RATE_PERCENT,
  raised_percent = SACRAL_COMPLICATION_RATE_PERCENT,
  raised_when = sacral_localisation,
  raised_fr = "Localisation sacrée",
  raised_en = "Sacral localisation",

  factor "neurological_deficit" {
    fr = "État neurologique préopératoire (déficit neurologique)",
    en = "Preoperative neurological status (neurological deficit)",
    when = status_of("local_indications", "neurological_deficit"),
  },

  factor "poor_general_condition" {
    fr = "État général préopératoire (médiocre)",
    en = "Preoperative general condition (poor)",
    when = is(result "tokuhashi.items.general_condition.value", "poor"),
  },

  -- section 5: "L'existence d'une radiothérapie préopératoire de la vertèbre à opérer n'est
  -- pas une contre-indication formelle opératoire mais est un facteur de risque"
  factor "prior_radiotherapy" {
    fr = "Radiothérapie préopératoire du site à traiter",
    en = "Preoperative radiotherapy of the site to be treated",
    source = "section 6, section 5",
    each = "spine.lesions", key = "level",
    when = is_true("prior_radiotherapy"),
  },
}
