-- hostile: reads the forbidden global 'rawget'
-- expect: load {dir}/hostile.lua:3: error: undefined global 'rawget'
local x = rawget
