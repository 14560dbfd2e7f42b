-- Section 4.4 - Stratégie décisionnelle
-- The recommendation given to the multidisciplinary meeting. The steps are tried in order;
-- the first whose condition is true gives the answer. A step whose condition is unknown is
-- passed over and reported in `recommendation_caveats` (it could still apply).
-- Steps follow SPEC section 4: contraindications first (section 5), then the Tokuhashi
-- surgery reading (section 4.4, Tableau 11).

decision "recommendation" {
  source = "section 4.4",

  step { "absolute_contraindication",
         when = any_contraindication("absolute"),
         gives = "contraindicated",
         source = "section 5",
         fr = "Contre-indication chirurgicale formelle présente",
         en = "An absolute surgical contraindication is present" },

  step { "tokuhashi_indeterminate",
         when = band_is("tokuhashi", "surgery", "indeterminate"),
         gives = "indeterminate",
         source = "section 4.4, Tableau 11",
         fr = "Score de Tokuhashi incomplet : les données manquantes peuvent changer la décision",
         en = "Tokuhashi score incomplete: the missing data may change the decision" },

  step { "recommended_with_relative_contraindication",
         when = all_of(band_is("tokuhashi", "surgery", "recommended"),
                       any_contraindication("relative")),
         gives = "case_by_case",
         source = "section 4.4, section 5",
         fr = "Chirurgie recommandée selon Tokuhashi, mais contre-indication à nuancer (statut moléculaire, perspectives thérapeutiques)",
         en = "Surgery recommended by Tokuhashi, but a contraindication to be nuanced (molecular status, therapeutic prospects)" },

  step { "tokuhashi_surgery",
         gives = band_of("tokuhashi", "surgery"),
         source = "section 4.4, Tableau 11",
         fr = "Lecture chirurgicale du score de Tokuhashi (limites : tokuhashi.lua)",
         en = "Surgical reading of the Tokuhashi score (limits: tokuhashi.lua)" },
}
