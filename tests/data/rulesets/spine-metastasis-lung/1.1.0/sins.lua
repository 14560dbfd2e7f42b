-- Tableau 10 - Score SINS (Spinal Instability Neoplastic Score)
-- One score per lesion assessed in detail (spine.lesions), total out of 18 points.
--
-- To change a point value: edit `points` in the row. To change a band limit: edit the
-- named limits just below. Labels: `fr` is the chapter's wording, `en` its translation.

-- Interprétation du score (Tableau 10): 0-6 stable / 7-12 potentiellement instable /
-- 13-18 instable. These two limits are where a band begins.
local POTENTIALLY_UNSTABLE_FROM = 7    -- Tableau 10: "7-12 points : potentiellement instable"
local UNSTABLE_FROM             = 13   -- Tableau 10: "13-18 points : instable"

score "sins" {
  fr = "Score SINS (Spinal Instability Neoplastic Score)",
  en = "SINS (Spinal Instability Neoplastic Score)",
  source = "Tableau 10",
  max = 18,                   -- "total out of 18": `spinerules check` keeps the rows within it
  each = "spine.lesions",     -- one score per lesion ...
  key = "level",              -- ... named by its vertebral level

  -- The chapter writes "C0-C2": C0 is the occiput, not a vertebra a case can name, so the
  -- first junctional group starts at C1. S1 belongs to the lumbosacral junction (L5-S1).
  item "location" {
    fr = "Localisation", en = "Location",
    input = "level",
    row { levels "C1-C2, C7-T2, T11-L1, L5-S1", points = 3,
          fr = "Charnières (C0-C2, C7-T2, T11-L1, L5-S1)",
          en = "Junctional (occiput-C2, C7-T2, T11-L1, L5-S1)" },
    row { levels "C3-C6, L2-L4", points = 2,
          fr = "Rachis mobile (C3-C6, L2-L4)",
          en = "Mobile spine (C3-C6, L2-L4)" },
    row { levels "T3-T10", points = 1,
          fr = "Rachis semi-rigide (T3-T10)",
          en = "Semi-rigid spine (T3-T10)" },
    row { levels "S2-S5", points = 0,
          fr = "Rachis rigide (S2-S5)",
          en = "Rigid spine (S2-S5)" },
  },

  item "pain" {
    fr = "Douleur mécanique", en = "Mechanical pain",
    input = "pain",
    row { "mechanical", points = 3,
          fr = "Oui",
          en = "Yes (relieved by lying down and/or worse with movement or loading of the spine)" },
    row { "non_mechanical", points = 1,
          fr = "Douleur non mécanique",
          en = "Non-mechanical pain" },
    row { "none", points = 0,
          fr = "Indolore",
          en = "Pain-free" },
  },

  item "bone_lesion" {
    fr = "Lésion osseuse", en = "Bone lesion",
    input = "bone_lesion",
    row { "lytic",   points = 2, fr = "Lytique",    en = "Lytic" },
    row { "mixed",   points = 1, fr = "Mixte",      en = "Mixed (lytic/blastic)" },
    row { "blastic", points = 0, fr = "Condensant", en = "Blastic" },
  },

  item "alignment" {
    fr = "Alignement", en = "Spinal alignment",
    input = "alignment",
    row { "subluxation_translation", points = 4,
          fr = "Subluxation/translation", en = "Subluxation/translation" },
    row { "de_novo_deformity", points = 2,
          fr = "Déformation harmonieuse", en = "De novo deformity (kyphosis/scoliosis)" },
    row { "normal", points = 0,
          fr = "Normal", en = "Normal alignment" },
  },

  item "collapse" {
    fr = "Tassement vertébral", en = "Vertebral body collapse",
    input = "collapse",
    row { "over_50_percent", points = 3,
          fr = "> 50%", en = "> 50% collapse" },
    row { "under_50_percent", points = 2,
          fr = "< 50%", en = "< 50% collapse" },
    row { "no_collapse_over_50_percent_involved", points = 1,
          fr = "Ostéolyse > 50% sans tassement",
          en = "No collapse with > 50% of the body involved (osteolysis)" },
    row { "none", points = 0,
          fr = "Aucun", en = "None" },
  },

  -- fracture or tumour replacement of facet, pedicle or costovertebral joint
  item "posterolateral" {
    fr = "Atteinte des éléments postérieurs",
    en = "Posterolateral involvement of spinal elements",
    input = "posterolateral",
    row { "bilateral",  points = 3, fr = "Bilatérale",  en = "Bilateral" },
    row { "unilateral", points = 1, fr = "Unilatérale", en = "Unilateral" },
    row { "none",       points = 0, fr = "Aucune",      en = "None" },
  },

  bands "category" {
    band { "stable",               from = 0,                          to = POTENTIALLY_UNSTABLE_FROM - 1,
           fr = "stable",                  en = "stable" },
    band { "potentially_unstable", from = POTENTIALLY_UNSTABLE_FROM,  to = UNSTABLE_FROM - 1,
           fr = "potentiellement instable", en = "potentially unstable (surgical opinion advised)" },
    band { "unstable",             from = UNSTABLE_FROM,              -- up to the maximum, 18
           fr = "instable",                en = "unstable" },
  },
}
