-- hostile: raises a message that is not UTF-8
-- expect: eval rule error: {dir}/hostile.lua:6: caf? ??
findings "hostile" {
  source = "test",
  check "x" { fr = "x", en = "x", when = function(case)
    error('caf\233 \255\254')
  end },
}
