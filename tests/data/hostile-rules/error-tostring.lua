-- hostile: raises an object whose __tostring would run code
-- expect: eval rule error: {dir}/hostile.lua:6: (error object is a table value)
findings "hostile" {
  source = "test",
  check "x" { fr = "x", en = "x", when = function(case)
    error(unknown)
  end },
}
