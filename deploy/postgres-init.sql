-- One database per storage alias; run once by the postgres image on an empty volume.
CREATE DATABASE rs_default;
CREATE DATABASE rs_products;
CREATE DATABASE rs_feedback;
CREATE DATABASE rs_modelstore;
CREATE DATABASE rs_similarity;
