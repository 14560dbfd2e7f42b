-- Section 3 - Quelles sont les techniques neurochirurgicales disponibles pour prendre en
-- charge une métastase rachidienne ?
-- Notes for the multidisciplinary meeting. Every note is listed with its status: applies,
-- does_not_apply, or unknown (an input it needs is not given); per-lesion notes name the
-- levels where they apply (`levels`) or may apply (`possible_levels`).

findings "technique_notes" {
  source = "section 3",
  statuses = { yes = "applies", no = "does_not_apply", unknown = "unknown" },
  list = "all",

  check "postoperative_radiotherapy" {     -- no `when`: applies in every case
    fr = "Dans tous les cas, la neurochirurgie sera complétée en post-opératoire d'une radiothérapie sur le lit chirurgical pour prévenir la récurrence et favoriser la consolidation osseuse",
    en = "In every case, surgery is followed by postoperative radiotherapy of the surgical bed to prevent recurrence and help bone healing",
  },

  check "total_vertebrectomy_not_indicated" {
    fr = "Étant donné le contexte de cancer du poumon métastatique osseux, la vertébrectomie totale n'est habituellement pas indiquée",
    en = "Given the context of lung cancer with bone metastases, total vertebrectomy is usually not indicated",
  },

  check "isolated_laminectomy" {
    fr = "La laminectomie isolée est réservée à une compression épidurale postérieure sans atteinte du corps vertébral antérieur",
    en = "Isolated laminectomy is reserved for posterior epidural compression without involvement of the anterior vertebral body",
    each = "spine.lesions", key = "level",
    when = all_of(is("epidural_compression", "posterior"), is("vertebral_body_involved", false)),
  },

  check "laminectomy_with_posterior_stabilisation" {
    fr = "Dans la majorité des cas de laminectomie, le geste est complété par une stabilisation postérieure (laminectomie isolée : risque de déstabilisation et de cyphose)",
    en = "In most cases a laminectomy is completed by posterior stabilisation (isolated laminectomy risks destabilisation and kyphosis)",
    each = "spine.lesions", key = "level",
    when = all_of(is_one_of("epidural_compression", { "posterior", "circumferential" }),
                  negate(all_of(is("epidural_compression", "posterior"),
                                is("vertebral_body_involved", false)))),
  },

  check "anterior_approach" {
    fr = "La voie antérieure offre un accès direct à la tumeur située dans le corps vertébral (reconstruction de la colonne antérieure : cage, ciment PMMA) ; elle est souvent utilisée pour une lésion du rachis cervical",
    en = "The anterior approach gives direct access to a tumour in the vertebral body (anterior column reconstruction: cage, PMMA cement); it is often used for a lesion of the cervical spine",
    each = "spine.lesions", key = "level",
    when = any_of(is_true("vertebral_body_involved"), in_levels("level", "C1-C7")),
  },

  check "posterolateral_approach" {
    fr = "La voie postéro-latérale est surtout utilisée à l'étage thoracique et lombaire pour une décompression optimale, avec reconstruction antérieure dans le même geste",
    en = "The posterolateral approach is used mostly at thoracic and lumbar levels for optimal decompression, with anterior reconstruction in the same procedure",
    each = "spine.lesions", key = "level",
    when = in_levels("level", "T1-L5"),
  },

  check "posterolateral_approach_t3_t4" {
    fr = "Voie postéro-latérale particulièrement intéressante en T3 et T4, d'accès difficile par voie antérieure",
    en = "Posterolateral approach especially useful at T3 and T4, which are hard to reach by the anterior approach",
    each = "spine.lesions", key = "level",
    when = in_levels("level", "T3-T4"),
  },
}
