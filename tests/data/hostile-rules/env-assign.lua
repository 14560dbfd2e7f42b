-- hostile: replaces its own environment
-- expect: load {dir}/hostile.lua:3: error: a rule file cannot assign _ENV
_ENV = { findings = findings }
