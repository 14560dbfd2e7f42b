-- hostile: reads the forbidden global 'require'
-- expect: load {dir}/hostile.lua:3: error: undefined global 'require'
local x = require
