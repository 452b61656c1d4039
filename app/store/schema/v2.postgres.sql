-- schema version 2 (postgres); frozen: never edit, add a new version instead
CREATE TABLE "complaint" ("id" SERIAL NOT NULL PRIMARY KEY, "township" VARCHAR(9) NOT NULL, "case_id" INTEGER, "channel" VARCHAR(20) NOT NULL, "content" TEXT NOT NULL, "status" VARCHAR(10) NOT NULL, "reply" TEXT NOT NULL, "received_at" TIMESTAMP NOT NULL, "received_by" VARCHAR(50) NOT NULL, "handled_at" TIMESTAMP, FOREIGN KEY ("case_id") REFERENCES "case_file" ("id") ON DELETE SET NULL);
CREATE INDEX "complaintrecord_township" ON "complaint" ("township");
CREATE INDEX "complaintrecord_case_id" ON "complaint" ("case_id");
CREATE INDEX "complaintrecord_received_at" ON "complaint" ("received_at");
CREATE TABLE "consultation" ("id" SERIAL NOT NULL PRIMARY KEY, "township" VARCHAR(9) NOT NULL, "item_code" VARCHAR(40) NOT NULL, "channel" VARCHAR(20) NOT NULL, "note" TEXT NOT NULL, "at" TIMESTAMP NOT NULL, "account" VARCHAR(50) NOT NULL);
CREATE INDEX "consultationrecord_township" ON "consultation" ("township");
CREATE INDEX "consultationrecord_at" ON "consultation" ("at");
