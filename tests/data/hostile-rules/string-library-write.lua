-- hostile: replaces a library function for every later case
-- expect: eval rule error: {dir}/hostile.lua:6: tables of the rule set are read-only once it is loaded (tried to set 'upper')
findings "hostile" {
  source = "test",
  check "x" { fr = "x", en = "x", when = function(case)
    string.upper = function() return 'pwned' end
    return false
  end },
}
