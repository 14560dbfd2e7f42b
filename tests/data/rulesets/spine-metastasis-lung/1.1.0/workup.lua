-- Section 2 - Quel bilan est nécessaire pour caractériser localement la lésion du rachis en
-- vue de déterminer son opérabilité ?
-- The work-up items still missing: `missing` when the case says it was not done,
-- `not_recorded` when the case does not say; items done are left out.

findings "missing_workup" {
  source = "section 2",
  statuses = { yes = "missing", no = "done", unknown = "not_recorded" },
  list = "not_absent",

  check "pain_assessed" {
    fr = "Évaluation de la douleur (type, trajet, intensité, localisation)",
    en = "Pain assessment (type, radiation, intensity, location)",
    when = is("workup.pain_assessed", false),
  },

  check "neurological_exam" {
    fr = "Examen clinique neurologique approfondi (déficit moteur, sensitif ou sphinctérien, syndrome pyramidal)",
    en = "Thorough neurological examination (motor, sensory or sphincter deficit, pyramidal syndrome)",
    when = is("workup.neurological_exam", false),
  },

  check "mri_whole_spine" {
    fr = "I.R.M. du rachis complet",
    en = "MRI of the whole spine",
    when = is("workup.mri_whole_spine", false),
  },

  check "ct_sagittal_bone_reconstruction" {
    fr = "Scanner avec au moins une reconstruction osseuse sagittale",
    en = "CT scan with at least one sagittal bone reconstruction",
    when = is("workup.ct_sagittal_bone_reconstruction", false),
  },
}
