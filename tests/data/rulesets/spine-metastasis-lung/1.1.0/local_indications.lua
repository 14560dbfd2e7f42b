-- Section 4.1 - Critères locaux
-- The local findings that argue for surgery, for the multidisciplinary meeting (SPEC
-- section 4.4): instability (SINS, Tableau 10), neurological deficit (Tableau 9, section 2),
-- epidural compression (section 2: "épidurite") and mechanical pain (Tableau 10).
-- Each is present, absent or unknown; per-lesion findings name the levels concerned.

-- SINS from 7 up: the start of "potentiellement instable", read from sins.lua so that the
-- limit lives in one place (Tableau 10).
local SINS_INDICATION_FROM = band_start("sins", "category", "potentially_unstable")

-- Present with a Frankel grade A to D, or a sphincter deficit (section 2: "déficit moteur,
-- sensitif ou sphinctérien"); absent with Frankel E ("fonctions neurologiques normales")
-- unless a sphincter deficit is recorded; unknown without a Frankel grade. A pyramidal
-- syndrome is a sign to look for (section 2), not a deficit: it does not count here.
local frankel_deficit = result "frankel.deficit"
local function neurological_deficit(case, _, results)
  local deficit = frankel_deficit(case, case, results)
  if deficit == "complete" or deficit == "incomplete" then return true end
  if value_of("neurology.sphincter_deficit", case) == true then return true end
  if deficit == "none" then return false end
  return unknown
end

findings "local_indications" {
  source = "section 4.1",

  check "sins_7_or_more" {
    fr = "Score SINS ≥ " .. SINS_INDICATION_FROM .. " (rachis potentiellement instable ou instable)",
    en = "SINS ≥ " .. SINS_INDICATION_FROM .. " (potentially unstable or unstable spine)",
    source = "Tableau 10",
    each = result "sins", key = "level",
    when = score_at_least(SINS_INDICATION_FROM),   -- present when a lesion's SINS min reaches it
  },

  check "neurological_deficit" {
    fr = "Déficit neurologique (moteur, sensitif ou sphinctérien)",
    en = "Neurological deficit (motor, sensory or sphincter)",
    source = "Tableau 9, section 2",
    when = neurological_deficit,
  },

  check "epidural_compression" {
    fr = "Compression épidurale (épidurite)",
    en = "Epidural compression (epidural disease)",
    source = "section 2",
    each = "spine.lesions", key = "level",
    when = is_one_of("epidural_compression", { "anterior", "posterior", "circumferential" }),
  },

  check "mechanical_pain" {
    fr = "Douleur mécanique",
    en = "Mechanical pain",
    source = "Tableau 10",
    each = "spine.lesions", key = "level",
    when = is("pain", "mechanical"),
  },
}
