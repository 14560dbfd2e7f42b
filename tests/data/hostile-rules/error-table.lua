-- hostile: raises a table as the error
-- expect: eval rule error: {dir}/hostile.lua:6: (error object is a table value)
findings "hostile" {
  source = "test",
  check "x" { fr = "x", en = "x", when = function(case)
    error({ message = 'not a string' })
  end },
}
