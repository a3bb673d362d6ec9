Feature: The private /out folder
  "Det er ikke muligt at dele udbakke (/out) imellem flere certifikater (med samme
  CVR-nummer)." "Vi anbefaler, at I selv sletter statusfiler og fejllister efterhånden, som I
  kontrollerer dem."

  @GW-OUT-01 @must
  Scenario: Another certificate of the same CVR neither sees nor reads my receipts
    Given "moces" has uploaded a new file to "FTPSGW.Heartbeat"
    And "moces" has received receipt 1 for it
    Then "voces" has the same CVR as "moces"
    And "voces" does not see that receipt in its /out
    And "voces" cannot download that receipt

  @GW-OUT-01 @must
  Scenario: A certificate of another CVR neither sees nor reads my receipts
    Given "moces" has uploaded a new file to "FTPSGW.Heartbeat"
    And "moces" has received receipt 1 for it
    Then "other-company" does not see that receipt in its /out
    And "other-company" cannot download that receipt

  @GW-OUT-02 @must
  Scenario: A certificate deletes its own receipt once checked
    Given "moces" has uploaded a new file to "FTPSGW.Heartbeat"
    And "moces" has received receipt 1 for it
    When "moces" deletes that receipt from its /out
    Then the deletion is accepted
    And that receipt is gone from the /out of "moces"

  @GW-OUT-02 @must
  Scenario: Nobody deletes another certificate's receipt
    Given "moces" has uploaded a new file to "FTPSGW.Heartbeat"
    And "moces" has received receipt 1 for it
    When "voces" tries to delete that receipt
    Then the deletion is refused
    And that receipt is still in the /out of "moces"
