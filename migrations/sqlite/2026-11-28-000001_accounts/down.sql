DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE user_jurisdictions;
DROP TABLE user_roles;
DROP TABLE users;
