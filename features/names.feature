Feature: File names
  "Indsendte filer skal være unikt navngivet (filnavn som tidligere er indsendt afvises)."
  The unique part of a name holds letters, digits and underscore, at most 78 characters; the
  prefix val_ asks for validation only.

  @GW-NAME-01 @must
  Scenario: A name is never accepted twice
    Given "moces" has uploaded a new file to "FTPSGW.Heartbeat"
    And "moces" has received receipt 1 for it
    When "moces" uploads a file with the same name to "FTPSGW.Heartbeat"
    Then that submission is rejected as FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION

  @GW-NAME-02 @must
  Scenario Outline: A name breaking the rules is rejected (<why>)
    Given "moces" is logged in
    When "moces" uploads a file named "<name>" to "FTPSGW.Heartbeat"
    Then that submission is rejected

    Examples:
      | name             | why                |
      | bad name.txt     | a space            |
      | bad-name.txt     | a dash             |
      | bad.name.txt     | two extensions     |
      | æøå.txt          | letters beyond A-Z |
      | {79 letters}.txt | 79 characters      |

  @GW-NAME-02 @must
  Scenario: A unique part of 78 characters is accepted
    Given "moces" is logged in
    When "moces" uploads a file named "{78 letters}.txt" to "FTPSGW.Heartbeat"
    Then the upload is accepted

  @GW-NAME-02 @must
  Scenario: A val_ upload is checked and answered
    Given "moces" is logged in
    When "moces" uploads a new file named with the prefix "val_" to "FTPSGW.Heartbeat"
    Then the upload is accepted
    And "moces" receives receipts 1 and 2 for it
