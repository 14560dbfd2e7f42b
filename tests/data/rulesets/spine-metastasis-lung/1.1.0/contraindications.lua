-- Section 5 - Quelles sont les contre-indications chirurgicales ?
-- "Les patients qui présentent une ou plusieurs des caractéristiques suivantes sont à
-- réfuter d'une éventuelle intervention neurochirurgicale". All five are always reported,
-- in this order, each present, absent or unknown (an input not given is never guessed).
--
-- Not a contraindication (section 5): radiotherapy of the vertebra before surgery "n'est
-- pas une contre-indication formelle opératoire mais est un facteur de risque de
-- complications" - see complications.lua.

local SHORT_SURVIVAL_MONTHS   = 3    -- section 5: "survie estimée < 3 mois"
local POOR_KARNOFSKY_UP_TO    = 40   -- section 5: "Karnofsky ≤ 40%"
-- section 5: "métastases viscérales (hépatiques, pulmonaires) ou cérébrales"
local DISSEMINATION_SITES     = { "liver", "lung", "brain" }

contraindication "short_survival" {
  fr = "Survie estimée < 3 mois",
  en = "Estimated survival < 3 months",
  source = "section 5",
  kind = "absolute",
  when = is_below("patient.estimated_survival_months", SHORT_SURVIVAL_MONTHS),
}

contraindication "poor_performance_status" {
  fr = "Profonde altération d'état général (Karnofsky ≤ 40%)",
  en = "Severely impaired general condition (Karnofsky ≤ 40%)",
  source = "section 5",
  kind = "absolute",
  when = is_at_most("patient.karnofsky", POOR_KARNOFSKY_UP_TO),
}

contraindication "severe_immunodepression" {
  fr = "Immunodépression sévère",
  en = "Severe immunodepression",
  source = "section 5",
  kind = "absolute",
  when = is_true("patient.severe_immunodepression"),
}

-- Cervical, thoracic ("dorsal") and lumbar segments each involved; sacral levels do not
-- count. Unknown when spine.metastatic_levels is not given.
local function three_segments(case)
  local involved = value_of("spine.metastatic_levels", case)
  if involved == nil then return unknown end
  local seen = {}
  for _, level in ipairs(involved) do
    local segment = segment_of(level)
    if segment then seen[segment] = true end
  end
  return seen.C == true and seen.T == true and seen.L == true
end

contraindication "three_segment_spinal_disease" {
  fr = "Métastases osseuses rachidiennes multiples touchant les 3 segments du rachis (cervical, dorsal, lombaire)",
  en = "Multiple spinal bone metastases involving all 3 segments of the spine (cervical, thoracic, lumbar)",
  source = "section 5",
  kind = "absolute",
  when = three_segments,
}

-- Present when metastatic sites include liver, lung or brain; absent when the sites are
-- given without them, or when they are not given and there are no visceral metastases
-- (tumor.visceral_metastases = none); unknown otherwise.
-- "Ce point est à nuancer en fonction du statut moléculaire du patient et des perspectives
-- thérapeutiques": the contraindication is relative when a targeted therapy is available.
local has_dissemination_site = includes_any("tumor.metastatic_sites", DISSEMINATION_SITES)
local function disseminated(case)
  local sites = value_of("tumor.metastatic_sites", case)
  if sites ~= nil then return has_dissemination_site(case) end
  if value_of("tumor.visceral_metastases", case) == "none" then return false end
  return unknown
end

contraindication "disseminated_disease" {
  fr = "Tumeur disséminée avec des métastases viscérales (hépatiques, pulmonaires) ou cérébrales",
  en = "Disseminated tumour with visceral (liver, lung) or brain metastases",
  source = "section 5",
  kind = "absolute",
  relative_when = is_true("tumor.targeted_therapy_available"),
  when = disseminated,
}
