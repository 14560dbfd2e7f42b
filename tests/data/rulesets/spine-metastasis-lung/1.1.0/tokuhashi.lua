-- Tableau 11 - Classification modifiée de Tokuhashi (148)
-- Modified Tokuhashi score: six criteria, total out of 15 points, and the two readings
-- the chapter makes of the total (expected survival, benefit of surgery).
--
-- To change a point value: edit `points` in the row. To change a limit: edit the named
-- values below. Labels: `fr` is the chapter's wording, `en` its translation.

-- Tableau 11, criterion 3: "Poumon (à nuancer selon le statut mutationnel) 0/5": the lung
-- scores 0 of the 5 points this criterion can give. The chapter asks clinicians to nuance
-- it by the mutational status (section 4.4); rule set 1.0.0 keeps the table's 0.
local LUNG_PRIMARY_POINTS = 0

-- Section 4.4: "l'intervention chirurgicale est recommandée pour un score supérieur à 9
-- alors que le bénéfice d'une neurochirurgie semble très peu probable pour un score < 6".
-- 1.1.0 (test fixture, not clinical advice): surgery recommended from 9 on, in line with the
-- revised Tokuhashi score (2005), where 9 and more may call for excisional surgery.
local SURGERY_RECOMMENDED_ABOVE = 8    -- was 9 ("supérieur à 9") in 1.0.0: now 9 and more
local SURGERY_UNLIKELY_BELOW    = 6    -- "< 6": 5 and less; 6 to 8 is decided case by case

-- Tableau 11, NB: "la survie est de moins de 6 mois pour un score ≤ 8 et de plus de 1 an
-- pour un score ≥ 12" (9 to 11: between 6 and 12 months).
local SURVIVAL_UNDER_6_MONTHS_UP_TO = 8    -- "≤ 8"
local SURVIVAL_OVER_12_MONTHS_FROM  = 12   -- "≥ 12"

-- NOTE for editors: with the lung primary at 0 points the highest total this table can
-- give is 2 + 2 + 0 + 2 + 2 + 2 = 10. So `recommended` (9 or 10) allows one criterion a point
-- below its best, and `over_12_months` (>= 12) can never be reached: no golden case can cover it,
-- and `spinerules check` reports it as a band no input reaches. The published revised
-- Tokuhashi score (2005) reads its total differently (0-8 conservative or palliative;
-- 9-11 with a single vertebral metastasis or >= 12: excisional surgery); the limits
-- above are the chapter's own, encoded as written.

-- Criterion 1 "État général". SPEC section 3: when patient.general_condition is not given it
-- is derived from the Karnofsky index as the revised Tokuhashi score (2005) defines it.
local KARNOFSKY_POOR_UP_TO     = 40   -- Karnofsky 10-40 %: poor ("médiocre")
local KARNOFSKY_MODERATE_UP_TO = 70   -- Karnofsky 50-70 %: moderate ("moyen"); 80-100 %: good

local function general_condition(case)
  local given = value_of("patient.general_condition", case)
  if given ~= nil then return given end
  local karnofsky = value_of("patient.karnofsky", case)
  if karnofsky == nil then return nil end
  local derived
  if karnofsky <= KARNOFSKY_POOR_UP_TO then derived = "poor"
  elseif karnofsky <= KARNOFSKY_MODERATE_UP_TO then derived = "moderate"
  else derived = "good" end
  return derived, {
    fr = "déduit de l'indice de Karnofsky (" .. karnofsky .. " %)",
    en = "derived from the Karnofsky index (" .. karnofsky .. " %)",
    source = "Tokuhashi 2005 (148), SPEC section 3",
  }
end

-- Criterion 4 "Nombre de vertèbres atteintes" counts every involved vertebra
-- (spine.metastatic_levels). When that list is not given, the lesions assessed in detail
-- still prove a minimum: n distinct lesion levels mean at least n involved vertebrae, so
-- the count is narrowed to "n or more" instead of being wholly unknown (SPEC is silent
-- here; this is what a clinician reading the file would do).
local function involved_vertebrae(case)
  local listed = value_of("spine.metastatic_levels", case)
  if listed ~= nil then return #listed end
  local seen, distinct = {}, 0
  for _, lesion in ipairs(value_of("spine.lesions", case) or {}) do
    local level = value_of("level", lesion)
    if level ~= nil and not seen[level] then seen[level] = true; distinct = distinct + 1 end
  end
  if distinct == 0 then return nil end
  return value_at_least(distinct), {
    fr = "au moins " .. distinct .. " (niveaux des lésions décrites)",
    en = "at least " .. distinct .. " (levels of the lesions described)",
    source = "Tableau 11",
  }
end

score "tokuhashi" {
  fr = "Classification modifiée de Tokuhashi",
  en = "Modified Tokuhashi score",
  source = "Tableau 11",
  max = 15,                   -- "total out of 15": `spinerules check` keeps the rows within it

  item "general_condition" {
    fr = "État général", en = "General condition",
    input = general_condition,
    domain = "patient.general_condition",   -- the function gives one of its values (check proves each has a row)
    row { "poor",     points = 0, fr = "Médiocre", en = "Poor" },
    row { "moderate", points = 1, fr = "Moyen",    en = "Moderate" },
    row { "good",     points = 2, fr = "Bon",      en = "Good" },
  },

  item "neuro_deficit" {
    fr = "Déficit neurologique", en = "Neurological deficit",
    input = result "frankel.deficit",          -- from Tableau 9 (frankel.lua)
    row { "complete",   points = 0, fr = "Complet (Frankel A, B)",   en = "Complete (Frankel A, B)" },
    row { "incomplete", points = 1, fr = "Incomplet (Frankel C, D)", en = "Incomplete (Frankel C, D)" },
    row { "none",       points = 2, fr = "Aucun",                    en = "None" },
  },

  item "primary" {
    fr = "Tumeur primitive", en = "Primary tumour",
    input = "tumor.primary",
    max = 5,                  -- Tableau 11 scores this criterion out of 5 ("Poumon ... 0/5")
    row { "lung", points = LUNG_PRIMARY_POINTS,
          fr = "Poumon (à nuancer selon le statut mutationnel)",
          en = "Lung (to be nuanced by mutational status)" },
  },

  item "vertebrae" {
    fr = "Nombre de vertèbres atteintes", en = "Number of involved vertebrae",
    input = involved_vertebrae,
    row { at_least(3), points = 0, fr = "≥ 3", en = "3 or more" },
    row { 2,           points = 1, fr = "2",   en = "2" },
    row { 1,           points = 2, fr = "1",   en = "1" },
  },

  item "extraspinal_bone" {
    fr = "Métastases osseuses extra-rachidiennes", en = "Extraspinal bone metastases",
    input = "tumor.extraspinal_bone_metastases",
    row { at_least(3),   points = 0, fr = "≥ 3", en = "3 or more" },
    row { between(1, 2), points = 1, fr = "1-2", en = "1-2" },
    row { 0,             points = 2, fr = "0",   en = "0" },
  },

  item "visceral" {
    fr = "Métastases viscérales", en = "Visceral metastases",
    input = "tumor.visceral_metastases",
    row { "unresectable", points = 0, fr = "Non résécable", en = "Unresectable" },
    row { "resectable",   points = 1, fr = "Résécable",     en = "Resectable" },
    row { "none",         points = 2, fr = "Aucune",        en = "None" },
  },

  bands "survival" {
    source = "Tableau 11 (NB)",
    band { "under_6_months",          to = SURVIVAL_UNDER_6_MONTHS_UP_TO,
           fr = "survie de moins de 6 mois", en = "survival under 6 months" },
    band { "between_6_and_12_months", above = SURVIVAL_UNDER_6_MONTHS_UP_TO,
                                      below = SURVIVAL_OVER_12_MONTHS_FROM,
           fr = "survie de 6 à 12 mois", en = "survival between 6 and 12 months" },
    band { "over_12_months",          from = SURVIVAL_OVER_12_MONTHS_FROM,   -- unreachable, see NOTE
           fr = "survie de plus de 1 an", en = "survival over 1 year" },
  },

  bands "surgery" {
    source = "section 4.4",
    band { "unlikely_benefit", below = SURGERY_UNLIKELY_BELOW,
           fr = "bénéfice d'une neurochirurgie très peu probable",
           en = "benefit of surgery very unlikely" },
    band { "case_by_case",     from = SURGERY_UNLIKELY_BELOW, to = SURGERY_RECOMMENDED_ABOVE,
           fr = "à discuter au cas par cas", en = "to be discussed case by case" },
    band { "recommended",      above = SURGERY_RECOMMENDED_ABOVE,
           fr = "intervention chirurgicale recommandée", en = "surgery recommended" },
  },
}
