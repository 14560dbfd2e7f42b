-- hostile: reads the forbidden global 'io'
-- expect: load {dir}/hostile.lua:3: error: undefined global 'io'
local x = io
