-- Tableau 9 - Classification fonctionnelle de Frankel (145)
-- Frankel functional classification: the neurological grade of the patient.
--
-- Each row: the grade (as written in the case: neurology.frankel), the deficit it means
-- for the rest of the chapter (Tokuhashi item 2 "Déficit neurologique": complete for
-- Frankel A and B, incomplete for C and D, none for E), and the chapter's description.
-- Grade D has three sub-grades in the chapter (D1 walking frame, D2 cane, D3 no aid);
-- a case may give D alone or one of D1, D2, D3.

classification "frankel" {
  fr = "Classification fonctionnelle de Frankel",
  en = "Frankel functional classification",
  source = "Tableau 9",
  input = "neurology.frankel",
  value_key = "grade",        -- written as frankel.grade in the result
  gives = "deficit",          -- written as frankel.deficit in the result
  unknown = "unknown",        -- frankel.deficit when the grade is not given

  row { "A",  deficit = "complete",
        fr = "Déficit sensitivo-moteur complet",
        en = "Complete motor and sensory deficit" },
  row { "B",  deficit = "complete",
        fr = "Déficit moteur complet. Sensitif préservé",
        en = "Complete motor deficit. Sensation preserved" },
  row { "C",  deficit = "incomplete",
        fr = "Pas de déambulation. Fauteuil roulant, quelques fonctions motrices",
        en = "Not walking. Wheelchair, some motor function" },
  row { "D",  deficit = "incomplete",
        fr = "Déambulation mais avec des signes neurologiques",
        en = "Walking, but with neurological signs" },
  row { "D1", deficit = "incomplete",
        fr = "Déambulation mais avec des signes neurologiques : avec déambulateur",
        en = "Walking, but with neurological signs: with a walking frame" },
  row { "D2", deficit = "incomplete",
        fr = "Déambulation mais avec des signes neurologiques : avec canne",
        en = "Walking, but with neurological signs: with a cane" },
  row { "D3", deficit = "incomplete",
        fr = "Déambulation mais avec des signes neurologiques : sans appareillage",
        en = "Walking, but with neurological signs: without any aid" },
  row { "E",  deficit = "none",
        fr = "Fonctions neurologiques normales",
        en = "Normal neurological function" },
}
