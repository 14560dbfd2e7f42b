-- hostile: changes a constant of the rule file while evaluating a case
-- expect: eval rule error: {dir}/hostile.lua:7: tables of the rule set are read-only once it is loaded (tried to set [3])
local SITES = { 'liver', 'lung' }
findings "hostile" {
  source = "test",
  check "x" { fr = "x", en = "x", when = function(case)
    SITES[#SITES + 1] = case.id
    return false
  end },
}
