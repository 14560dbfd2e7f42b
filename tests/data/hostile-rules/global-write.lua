-- hostile: sets a global while evaluating a case
-- expect: eval rule error: {dir}/hostile.lua:6: rule files cannot set globals once the rule set is loaded (tried 'seen_cases')
findings "hostile" {
  source = "test",
  check "x" { fr = "x", en = "x", when = function(case)
    seen_cases = 1
    return false
  end },
}
