-- hostile: counts cases in a variable of the file
-- expect: load {dir}/hostile.lua:7: error: a function cannot assign 'count', a variable of the file: rules keep no state between cases
local count = 0
findings "hostile" {
  source = "test",
  check "x" { fr = "x", en = "x", when = function(case)
    count = count + 1
    return count > 1
  end },
}
